import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisCacheStore } from '@restash/core';
import { startRedisSentinel, waitFor, type SentinelHandle } from '../harness';
import {
  prepareDoomed,
  runWorkload,
  untilServedFrom,
  type Acked,
  type WorkloadReport,
} from './support';

// Two stores with tracking behind Redis Sentinel (a master, a replica, three sentinels) under a
// steady stream of gets, sets and tag invalidations while the master changes: a graceful
// failover (SENTINEL FAILOVER) and a crash (SIGKILL). Each time no get throws, no get answers a
// value an acknowledged write or invalidation had replaced, both stores read and write on the new
// master within a bound, and no acknowledged invalidation is missing there. Set RESTASH_FIGURES
// to a file name to have the measured figures appended to it.

let env: SentinelHandle | undefined;
const stores: RedisCacheStore[] = [];
let errors: unknown[];
/** When the stores last moved to a new master. */
let lastSwitchAt = 0;

function sentinelStore(): RedisCacheStore {
  const store = new RedisCacheStore({
    sentinel: { sentinels: env!.sentinels, name: env!.name },
    clientOpts: { keyPrefix: env!.keyPrefix },
    errorCallback: (err) => errors.push(err),
  });
  stores.push(store);
  return store;
}

/** A store on the data server at `port` alone (no Sentinel): what that server holds. */
function directStore(port: number): RedisCacheStore {
  const store = new RedisCacheStore({
    clientOpts: { host: '127.0.0.1', port, keyPrefix: env!.keyPrefix, commandTimeout: 2000 },
    tracking: false,
    errorCallback: () => undefined,
  });
  stores.push(store);
  return store;
}

/** Resolves once `count` connections on the server on `port` have tracking redirected. */
async function trackingOn(port: number, count: number): Promise<void> {
  await waitFor(
    () =>
      env!.onServer(port, async (c) => {
        const clients = String(await c.client('LIST'));
        return (clients.match(/flags=t\S* .*redir=\d+/g) ?? []).length >= count;
      }),
    5000,
    'tracking on both stores',
  );
}

/**
 * Resolves once every sentinel has `count` subscribers: each connection a store opens (its own,
 * the tracking reader and subscriber) watches every sentinel for `+switch-master`.
 */
async function detectorsOnEverySentinel(count: number): Promise<void> {
  await waitFor(
    async () => {
      for (const { port } of env!.sentinels) {
        const clients = String(await env!.onServer(port, (c) => c.client('LIST')));
        if ((clients.match(/ sub=1 /g) ?? []).length < count) return false;
      }
      return true;
    },
    5000,
    'failover detectors on every sentinel',
  );
}

/** What a failover did to the workload. */
interface Figures {
  /** From the trigger until the replica is master. */
  promotedMs: number;
  /** From the trigger until every sentinel names it (when clients can learn of it). */
  switchedMs: number;
  /** From the trigger until each store read and wrote on the new master. */
  recoveredMs: number[];
  /** From the trigger until both stores track again, on the new master. */
  trackedMs: number;
  report: WorkloadReport;
  /** Acknowledged writes the new master does not hold. */
  lostWrites: number;
  /** Entries the new master still serves although an acknowledged invalidation removed them. */
  lostInvalidations: number;
}

/** Runs the workload across `trigger`, which starts a failover and resolves the old master's port. */
async function across(trigger: () => Promise<number>): Promise<Figures> {
  const stores = [sentinelStore(), sentinelStore()];
  await trackingOn(await env!.masterPort(), 2);
  await detectorsOnEverySentinel(6);
  await prepareDoomed(stores[0]!);
  const workload = runWorkload(stores);
  await sleep(300);
  const started = performance.now();
  const from = await trigger();
  const to = env!.servers.find((port) => port !== from)!;
  await waitFor(
    () => env!.onServer(to, async (c) => (await c.role())[0] === 'master').catch(() => false),
    15_000,
    'the replica promoted',
  );
  const promoted = performance.now();
  const switched = await env!.waitForSwitch(from).then(() => performance.now());
  const check = directStore(to);
  const recovered = await Promise.all(
    stores.map((store, i) => untilServedFrom(store, check, `probe${i}`, 8000)),
  );
  lastSwitchAt = performance.now();
  await trackingOn(to, 2);
  const tracked = performance.now();
  await sleep(300); // the workload goes on on the new master
  const report = await workload.stop();
  const found = (names: Acked[], from: RedisCacheStore[]): Promise<boolean[]> =>
    Promise.all(
      names.map(async ({ name }) => {
        const entries = await Promise.all(from.map((s) => s.get(name)));
        return entries.some((entry) => entry !== undefined);
      }),
    );
  const lostWrites = (await found(report.written, [check])).filter((f) => !f).length;
  const lostInvalidations = (await found(report.invalidated, [check, ...stores])).filter(
    Boolean,
  ).length;
  return {
    promotedMs: promoted - started,
    switchedMs: switched - started,
    recoveredMs: recovered.map((at) => at - started),
    trackedMs: tracked - started,
    report,
    lostWrites,
    lostInvalidations,
  };
}

/** The figures as one line, so a failure shows them all. */
function summary(f: Figures): string {
  const ms = (n: number): string => `${Math.round(n)} ms`;
  return [
    `promoted after ${ms(f.promotedMs)}, announced after ${ms(f.switchedMs)},`,
    `stores on it after ${f.recoveredMs.map(ms).join(' / ')}, tracking after ${ms(f.trackedMs)};`,
    `${f.report.ops + f.report.written.length} ops (${f.report.gets} checked gets),`,
    `${f.report.rejected} writes rejected, ${f.report.threw.length} gets threw,`,
    `${f.report.stale.length} stale reads, ${f.lostWrites} of ${f.report.written.length} writes`,
    `lost, ${f.lostInvalidations} of ${f.report.invalidated.length} invalidations lost`,
  ].join(' ');
}

/** The checks both failovers must pass; a failure shows every figure. */
function expectCorrect(kind: string, f: Figures): void {
  const line = `${kind}: ${summary(f)}`;
  const file = process.env.RESTASH_FIGURES;
  if (file) appendFileSync(file, line + '\n');
  expect(line).toMatch(/ 0 gets threw, 0 stale reads, .* 0 of \d+ invalidations lost$/);
  expect(f.report.invalidated.length).toBeGreaterThan(20);
  // Connection errors are expected on the way; a failed replay is not.
  expect(errors.filter((err) => /journal|replay/.test(String(err)))).toEqual([]);
}

beforeEach(async () => {
  errors = [];
  env = await startRedisSentinel({ downAfterMs: 1000 });
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await env?.stop();
  env = undefined;
});
afterAll(async () => {
  // When a connection moves, ioredis closes its previous sentinel subscriptions a second time,
  // which leaves a 2 s timer each (AbstractConnector.disconnect) keeping the worker alive.
  await sleep(Math.max(0, lastSwitchAt + 2100 - performance.now()));
});

test('SENTINEL FAILOVER: both stores on the new master within 1.2 s of its announcement, nothing stale or lost', async () => {
  const f = await across(async () => {
    const from = await env!.masterPort();
    await env!.failover();
    return from;
  });
  expectCorrect('SENTINEL FAILOVER', f);
  // Sentinel itself announces the new master 0.3 to 1 s after promoting it; the stores hear it at
  // once, reconnect after 100 ms, replay and settle (500 ms). Writes wait for the new master.
  expect(Math.max(...f.recoveredMs) - f.switchedMs).toBeLessThan(1200);
  expect(Math.max(...f.recoveredMs)).toBeLessThan(2500);
  expect(f.report.rejected).toBe(0);
});

test('kill -9 of the master: both stores follow the promoted replica, nothing stale or lost', async () => {
  const f = await across(() => env!.killMaster());
  expectCorrect('kill -9', f);
  // Once the sentinels name the new master: the next reconnection attempt (every 500 ms at
  // most), the replay, the settle time (500 ms). Writes reject while no master is reachable.
  expect(Math.max(...f.recoveredMs) - f.switchedMs).toBeLessThan(1500);
});
