import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { startApp, type AppProcess } from './app-process.js';
import type { Sample } from './ipc.js';
import { load, type LoadResult } from './load.js';
import { modesOf, pathOf, type Framework, type Mode, type ModeId } from './modes.js';
import {
  calibrate,
  closeWindow,
  openWindow,
  type Calibration,
  type RedisWindow,
} from './redis-stats.js';
import { SIZES, type BodySize } from './sizes.js';

/** How long and how hard the HTTP part runs. */
export interface HttpPlan {
  frameworks: readonly Framework[];
  rounds: number;
  /** Measured seconds per case per round. */
  seconds: number;
  /** Load per case before the rounds, discarded. */
  warmupS: number;
  connections: number;
  /** Sequential requests per case watched by MONITOR. */
  calibrationRequests: number;
}

/** One case measured in one round. */
export interface HttpWindow {
  load: LoadResult;
  /** Requests the server received, and the CPU time it spent, during the window. */
  requests: number;
  serverCpuUs: number;
  /** Times the route handler ran during the window. */
  originRuns: number;
  redis: RedisWindow;
}

/** A framework, mode and body size, and what every round measured of it. */
export interface HttpCase {
  framework: Framework;
  mode: ModeId;
  size: string;
  calibration: Calibration;
  windows: HttpWindow[];
}

type Log = (line: string) => void;

/**
 * Measures every mode of every framework at every size, in rounds: each round goes through all
 * cases, so a slow spell of the shared machine lands on every case instead of on one, and the
 * ceiling a case is compared with was measured moments apart in the same round.
 */
export async function runHttp(
  plan: HttpPlan,
  redisPort: number,
  admin: Redis,
  log: Log,
): Promise<HttpCase[]> {
  const apps = new Map<Framework, AppProcess>();
  try {
    for (const framework of plan.frameworks) {
      log(`starting the ${framework} server`);
      apps.set(framework, await startApp(framework, redisPort));
    }
    const groups = plan.frameworks.flatMap((framework) =>
      SIZES.map((size) => ({ framework, size, modes: modesOf(framework) })),
    );
    const cases = new Map<string, HttpCase>();
    const runner = (framework: Framework, mode: Mode, size: BodySize) => ({
      app: apps.get(framework)!,
      url: `${apps.get(framework)!.bases[mode.id]!}${pathOf(mode, size.id)}`,
      label: `${framework} ${size.label} ${mode.id}`,
    });
    for (const { framework, size, modes } of groups) {
      for (const mode of modes) {
        const { app, url, label } = runner(framework, mode, size);
        log(`warming up ${label}`);
        await load(url, plan.warmupS, plan.connections);
        const calibration = await checkAndCalibrate(app, mode, url, plan, admin, log);
        if (mode.uniqueUrls) await app.flush(mode.id);
        cases.set(label, { framework, mode: mode.id, size: size.id, calibration, windows: [] });
      }
    }
    for (let round = 1; round <= plan.rounds; round++) {
      for (const { framework, size, modes } of groups) {
        // Each round starts the group at another mode: whatever a case leaves behind (garbage to
        // collect, keys to expire) weighs on a different neighbour every round.
        const order = modes.map((_, i) => modes[(i + round - 1) % modes.length]!);
        for (const mode of order) {
          const { app, url, label } = runner(framework, mode, size);
          if (mode.inProcess) await untilInProcess(url, admin, log);
          const window = await measure(app, url, plan, admin);
          if (mode.uniqueUrls) await app.flush(mode.id);
          cases.get(label)!.windows.push(window);
          log(
            `round ${round}/${plan.rounds} ${label}: ${Math.round(window.load.responses / window.load.seconds)} req/s, ` +
              `${(window.serverCpuUs / window.requests).toFixed(1)} µs CPU/request`,
          );
        }
      }
    }
    return [...cases.values()];
  } finally {
    await Promise.all([...apps.values()].map((app) => app.stop()));
  }
}

/**
 * Waits until hits of `url` send Redis no script, i.e. the local tier serves them. A neighbouring
 * case that saturates Redis (apicache at 200 KB) can make the tier's health check time out, and
 * the tier then stays bypassed until tracking is re-established, a second or two later: that is
 * the neighbour's doing, not the case's, so the window waits for it.
 */
async function untilInProcess(url: string, admin: Redis, log: Log): Promise<void> {
  const deadline = performance.now() + 5000;
  for (;;) {
    await admin.config('RESETSTAT');
    for (let i = 0; i < 5; i++) await (await fetch(url)).arrayBuffer();
    const info = await admin.info('commandstats');
    if (!/^cmdstat_(evalsha|eval):/m.test(info)) return;
    if (performance.now() > deadline) {
      log(`warning: ${url} still reaches Redis on hits; measuring anyway`);
      return;
    }
    await sleep(100);
  }
}

/**
 * Waits until the server has answered every request it received. autocannon drops its
 * connections when a window ends, but requests already received still run (a miss's handler, a
 * hit waiting for Redis): their CPU time belongs to the window that sent them, not to the next.
 */
async function idle(app: AppProcess): Promise<Sample> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const sample = await app.sample();
    if (sample.inFlight === 0 || performance.now() > deadline) return sample;
    await sleep(10);
  }
}

/** One measured window: the server's and Redis's counters read right before and after the load. */
async function measure(
  app: AppProcess,
  url: string,
  plan: HttpPlan,
  admin: Redis,
): Promise<HttpWindow> {
  await idle(app);
  const redisStart = await openWindow(admin);
  const before = await app.sample();
  const result = await load(url, plan.seconds, plan.connections);
  const after = await idle(app);
  const redis = await closeWindow(admin, redisStart);
  return {
    load: result,
    requests: after.requests - before.requests,
    serverCpuUs: after.cpuUs - before.cpuUs,
    originRuns: after.originRuns - before.originRuns,
    redis,
  };
}

/**
 * Requests the case one at a time under MONITOR (its Redis commands per request, by source), and
 * checks it answers as the mode should: 2xx, and for hit modes without running the handler (a
 * cache that quietly misses would otherwise pass for a fast one). A case that never hits stops
 * the run; one that sometimes misses (a Redis timeout on a saturated machine) is logged, and the
 * report shows handler runs per request of every window.
 */
async function checkAndCalibrate(
  app: AppProcess,
  mode: Mode,
  url: string,
  plan: HttpPlan,
  admin: Redis,
  log: Log,
): Promise<Calibration> {
  const before = await idle(app);
  const calibration = await calibrate(admin, async () => {
    for (let i = 0; i < plan.calibrationRequests; i++) {
      const res = await fetch(url.replace('[<id>]', `calibration-${Date.now()}-${i}`));
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
    }
    return plan.calibrationRequests;
  });
  const runs = (await idle(app)).originRuns - before.originRuns;
  if (mode.hits && runs === plan.calibrationRequests)
    throw new Error(`${url} ran its handler on every request after warm-up: no cache hit`);
  if (mode.hits && runs > 0)
    log(`warning: ${url} ran its handler ${runs} times in ${plan.calibrationRequests} requests`);
  return calibration;
}
