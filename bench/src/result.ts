import type { HttpCase, HttpPlan } from './http-bench.js';
import type { StoreCase, StorePlan } from './store-bench.js';

/** How and where a run was made, for the head of the report. */
export interface Setup {
  date: string;
  quick: boolean;
  cpu: string;
  cores: number;
  node: string;
  redis: string;
  /** Versions of the load generator, frameworks and peers, by package name. */
  versions: Record<string, string>;
  /** 1-minute load average when the run started: other work on the machine skews results. */
  loadBefore: number;
  dbLatencyMs: number;
  /** Each size's actual body, in bytes. */
  bodyBytes: Record<string, number>;
  http?: HttpPlan;
  store?: StorePlan;
}

/** Everything a run measured, as written to the results JSON (reports are rendered from it). */
export interface BenchResult {
  setup: Setup;
  http: HttpCase[];
  store: StoreCase[];
}
