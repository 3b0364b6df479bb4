import { parseArgs } from 'node:util';
import type { HttpPlan } from './http-bench.js';
import { FRAMEWORKS, type Framework } from './modes.js';
import type { StorePlan } from './store-bench.js';

/** What `pnpm bench` was asked to do. */
export interface Plan {
  quick: boolean;
  /** Write the committed bench/results/latest.* instead of an untracked file. */
  save: boolean;
  http?: HttpPlan;
  store?: StorePlan;
}

export const USAGE = `pnpm bench [options]
  --quick             short windows and few rounds (under 2 minutes): for development
  --save              write bench/results/latest.{md,svg,json} (committed; the README shows them)
                      instead of bench/results/local/<date>.* (untracked)
  --rounds N          rounds through all cases (default 5, quick 3)
  --seconds S         measured seconds per case per round (default 2, quick 0.4; store 1.5, 0.3)
  --warmup S          warm-up seconds per case (default 1, quick 0.3; store 0.5, 0.15)
  --connections N     HTTP keep-alive connections (default 50)
  --framework NAME    express or koa (repeatable; default both)
  --http-only         skip the store micro-benchmark
  --store-only        only the store micro-benchmark`;

export function parsePlan(argv: readonly string[]): Plan {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      save: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      framework: { type: 'string', multiple: true },
      'http-only': { type: 'boolean', default: false },
      'store-only': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = values.quick;
  const rounds = positive('rounds', values.rounds, quick ? 3 : 5, true);
  const seconds = positive('seconds', values.seconds, quick ? 0.4 : 2);
  const warmupS = positive('warmup', values.warmup, quick ? 0.3 : 1);
  const frameworks = (values.framework ?? [...FRAMEWORKS]).map((name) => {
    if (!FRAMEWORKS.includes(name as Framework)) throw new TypeError(`unknown framework ${name}`);
    return name as Framework;
  });
  const http: HttpPlan = {
    frameworks,
    rounds,
    seconds,
    warmupS,
    connections: positive('connections', values.connections, 50, true),
    calibrationRequests: quick ? 10 : 20,
  };
  const store: StorePlan = {
    rounds,
    // A store window is steady sooner than an HTTP one: no connections to open.
    seconds: values.seconds === undefined ? (quick ? 0.3 : 1.5) : seconds,
    warmupS: values.warmup === undefined ? (quick ? 0.15 : 0.5) : warmupS,
    inFlight: 64,
    calibrationOps: 10,
  };
  return {
    quick,
    save: values.save,
    http: values['store-only'] ? undefined : http,
    store: values['http-only'] ? undefined : store,
  };
}

function positive(
  name: string,
  value: string | undefined,
  fallback: number,
  integer = false,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
    throw new TypeError(`--${name} must be a positive ${integer ? 'integer' : 'number'}`);
  return n;
}
