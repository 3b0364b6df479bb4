import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisCacheStore } from '@restash/core';

// The workload the Sentinel failover tests run over two stores, and what it checks:
// - a sequential mix of gets, sets and tag invalidations on a few keys, each get checked against
//   what the acknowledged writes allowed it to answer (stale reads);
// - a series of writes to keys of their own, never overwritten (which ones the new master lost);
// - a series of invalidations of entries stored before the failover (which ones it lost).

/**
 * How long a superseded value may still be answered. Another store's local tier drops its copy
 * when Redis's tracking message arrives, a millisecond or two after the write (by design); on a
 * loaded CI machine that can take longer. A lost write or invalidation makes an old value come
 * back for seconds, far beyond this.
 */
const GRACE_MS = 250;

const KEYS = 8;
const tagOf = (key: number): string => `t${key % 4}`;
/** Entries invalidated one by one during the run. */
export const DOOMED = 400;

/** A write or invalidation the store acknowledged, and when. */
export interface Acked {
  name: string;
  at: number;
}

/** What the workload saw. */
export interface WorkloadReport {
  ops: number;
  gets: number;
  /** Gets that answered a value no acknowledged write allowed at the time. */
  stale: { key: string; value: string; at: number }[];
  /** Calls that threw although they must not (gets). */
  threw: unknown[];
  /** Writes that rejected: allowed while no master is reachable. */
  rejected: number;
  /** Keys `w<n>` written once each, with when the store acknowledged them. */
  written: Acked[];
  /** Entries `doomed<n>` whose tag an acknowledged invalidation removed. */
  invalidated: Acked[];
}

/** Stores `DOOMED` entries for the invalidation series; run before the workload. */
export async function prepareDoomed(store: RedisCacheStore): Promise<void> {
  for (let i = 0; i < DOOMED; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, (_, j) =>
        store.set(`doomed${i + j}`, 'x', {}, 300, [`dt${i + j}`]),
      ),
    );
  }
}

/** Runs the workload over `stores` until `stop()`. */
export function runWorkload(stores: RedisCacheStore[]): { stop(): Promise<WorkloadReport> } {
  const report: WorkloadReport = {
    ops: 0,
    gets: 0,
    stale: [],
    threw: [],
    rejected: 0,
    written: [],
    invalidated: [],
  };
  let running = true;
  const loops = [mixed(stores, report, () => running), series(stores, report, () => running)];
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return report;
    },
  };
}

async function mixed(
  stores: RedisCacheStore[],
  report: WorkloadReport,
  running: () => boolean,
): Promise<void> {
  /** Per key: values a get may answer, with when each stopped being current (or Infinity). */
  const allowed = Array.from({ length: KEYS }, () => new Map<string, number>());
  const supersede = (key: number, at: number): void => {
    for (const [value, until] of allowed[key]!) {
      if (until === Infinity) allowed[key]!.set(value, at);
    }
  };
  for (let seq = 0; running(); seq++) {
    const store = stores[seq % stores.length]!;
    const key = Math.floor(Math.random() * KEYS);
    const dice = Math.random();
    report.ops++;
    if (dice < 0.4) {
      const value = `v${seq}`;
      try {
        await store.set(`k${key}`, value, {}, 60, [tagOf(key)]);
        supersede(key, performance.now());
      } catch {
        report.rejected++; // it may have happened all the same
      }
      allowed[key]!.set(value, Infinity);
    } else if (dice < 0.55) {
      const tag = tagOf(key);
      try {
        await store.invalidateTags([tag]);
        const at = performance.now();
        for (let k = 0; k < KEYS; k++) if (tagOf(k) === tag) supersede(k, at);
      } catch {
        report.rejected++;
      }
    } else {
      const at = performance.now();
      report.gets++;
      try {
        const value = (await store.get(`k${key}`))?.value as string | undefined;
        const until = value === undefined ? Infinity : allowed[key]!.get(value);
        if (until === undefined || until < at - GRACE_MS) {
          report.stale.push({ key: `k${key}`, value: value!, at });
        }
      } catch (err) {
        report.threw.push(err);
      }
    }
    await sleep(2);
  }
}

async function series(
  stores: RedisCacheStore[],
  report: WorkloadReport,
  running: () => boolean,
): Promise<void> {
  for (let n = 0; running(); n++) {
    const store = stores[n % stores.length]!;
    try {
      await store.set(`w${n}`, 'x', {}, 300);
      report.written.push({ name: `w${n}`, at: performance.now() });
    } catch {
      report.rejected++;
    }
    if (n < DOOMED) {
      try {
        await store.invalidateTags([`dt${n}`]);
        report.invalidated.push({ name: `doomed${n}`, at: performance.now() });
      } catch {
        report.rejected++;
      }
    }
    await sleep(10);
  }
}

/**
 * Writes through `store` until a write is readable both through the store and through `check` (a
 * store on the new master alone); resolves when. Call it once the replica is promoted: from then
 * on the old master's writes no longer reach it.
 */
export async function untilServedFrom(
  store: RedisCacheStore,
  check: RedisCacheStore,
  name: string,
  timeoutMs: number,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (let n = 0; performance.now() < deadline; n++) {
    const value = `${name}-${n}`;
    try {
      await store.set(name, value, {}, 60);
      if ((await check.get(name))?.value === value && (await store.get(name))?.value === value) {
        return performance.now();
      }
    } catch {
      // Not yet: the store is between masters.
    }
    await sleep(10);
  }
  throw new Error(
    `${name}: the store did not read and write on the new master within ${timeoutMs} ms`,
  );
}
