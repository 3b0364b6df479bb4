import type { HttpCase, HttpWindow } from './http-bench.js';
import type { Framework, ModeId } from './modes.js';
import { redisCost } from './redis-stats.js';
import { median } from './stats.js';
import type { StoreCase, StoreOp, StoreWindow } from './store-bench.js';

// Medians over rounds of what each window measured, and ratios paired per round: a case and the
// case it is compared with were measured moments apart in the same round, so the ratio of each
// round is taken first and the median of those reported.

/** One HTTP case, every figure a median over rounds, per request. */
export interface HttpSummary {
  framework: Framework;
  mode: ModeId;
  size: string;
  rps: number;
  p50: number;
  p99: number;
  serverUs: number;
  /** Ceiling's server CPU per request ÷ this case's, paired per round. */
  ceilingRatio: number;
  redisCommandUs: number;
  redisProcessUs: number;
  roundTrips: number;
  originRuns: number;
  /** Totals over all rounds. */
  originRunsTotal: number;
  non2xx: number;
  errors: number;
}

const serverUs = (w: HttpWindow) => w.serverCpuUs / w.requests;

export function summarizeHttp(cases: readonly HttpCase[]): HttpSummary[] {
  return cases.map((c) => {
    const ceiling = cases.find(
      (other) =>
        other.framework === c.framework && other.size === c.size && other.mode === 'ceiling',
    );
    const costs = c.windows.map((w) => redisCost(w.redis, c.calibration));
    const perRequest = (pick: (w: HttpWindow, i: number) => number) =>
      median(c.windows.map((w, i) => pick(w, i) / w.requests));
    return {
      framework: c.framework,
      mode: c.mode,
      size: c.size,
      rps: median(c.windows.map((w) => w.load.responses / w.load.seconds)),
      p50: median(c.windows.map((w) => w.load.p50)),
      p99: median(c.windows.map((w) => w.load.p99)),
      serverUs: median(c.windows.map(serverUs)),
      ceilingRatio: ceiling
        ? median(c.windows.map((w, i) => serverUs(ceiling.windows[i]!) / serverUs(w)))
        : Number.NaN,
      redisCommandUs: perRequest((_, i) => costs[i]!.commandUs),
      redisProcessUs: perRequest((_, i) => costs[i]!.processUs),
      roundTrips: perRequest((_, i) => costs[i]!.roundTrips),
      originRuns: perRequest((w) => w.originRuns),
      originRunsTotal: c.windows.reduce((sum, w) => sum + w.originRuns, 0),
      non2xx: c.windows.reduce((sum, w) => sum + w.load.non2xx, 0),
      errors: c.windows.reduce((sum, w) => sum + w.load.errors, 0),
    };
  });
}

/** One store case, medians over rounds, per operation. */
export interface StoreSummary {
  op: StoreOp;
  size: string;
  opsPerS: number;
  clientUs: number;
  redisCommandUs: number;
  redisProcessUs: number;
  roundTrips: number;
  /** Operations that rejected, over all rounds. */
  failures: number;
}

const storeMetrics = (c: StoreCase, w: StoreWindow) => {
  const cost = redisCost(w.redis, c.calibration);
  return {
    ops: w.ops / w.seconds,
    commandUs: cost.commandUs / w.ops,
    processUs: cost.processUs / w.ops,
    roundTrips: cost.roundTrips / w.ops,
    clientUs: w.clientCpuUs / w.ops,
  };
};

export function summarizeStore(cases: readonly StoreCase[]): StoreSummary[] {
  return cases.map((c) => {
    const rounds = c.windows.map((w) => storeMetrics(c, w));
    return {
      op: c.op,
      size: c.size,
      opsPerS: median(rounds.map((r) => r.ops)),
      clientUs: median(rounds.map((r) => r.clientUs)),
      redisCommandUs: median(rounds.map((r) => r.commandUs)),
      redisProcessUs: median(rounds.map((r) => r.processUs)),
      roundTrips: median(rounds.map((r) => r.roundTrips)),
      failures: c.windows.reduce((sum, w) => sum + w.failures, 0),
    };
  });
}

/** `of` ÷ `to` on `metric` at `size`, paired per round; NaN when either was not measured. */
export function storeRatio(
  cases: readonly StoreCase[],
  ratio: { of: StoreOp; to: StoreOp; size: string; metric: 'ops' | 'commandUs' },
): number {
  const find = (op: StoreOp) => cases.find((c) => c.op === op && c.size === ratio.size);
  const of = find(ratio.of);
  const to = find(ratio.to);
  if (!of || !to) return Number.NaN;
  return median(
    of.windows.map((w, i) => {
      const a = storeMetrics(of, w)[ratio.metric];
      const b = storeMetrics(to, to.windows[i]!)[ratio.metric];
      return a / b;
    }),
  );
}
