import { Redis } from 'ioredis';
import { RedisCacheStore } from '@restash/core';
import {
  calibrate,
  closeWindow,
  openWindow,
  type Calibration,
  type RedisWindow,
} from './redis-stats.js';
import { SIZES } from './sizes.js';
import { productBytes } from './work.js';

// The store micro-benchmark: RedisCacheStore's get and set against the raw GET and SET a client
// would send for the same value, with the same number of operations in flight, on the same
// redis-server. The store runs with tracking off, so every get goes to Redis. `get` is a first
// read (the store keeps one entry, so the value always comes); `get, unchanged` reads entries the
// store read whole before, whose value then stays in Redis (their ids are still the stored ones).

export const STORE_OPS = ['GET', 'get', 'get, unchanged', 'SET', 'set', 'set, 2 tags'] as const;
export type StoreOp = (typeof STORE_OPS)[number];

/** The sizes the store is measured at: the smallest and largest of the HTTP benchmark. */
export const STORE_SIZES = [SIZES[0]!, SIZES[SIZES.length - 1]!];

export interface StorePlan {
  rounds: number;
  seconds: number;
  warmupS: number;
  /** Operations in flight at any moment. */
  inFlight: number;
  /** Sequential operations per case watched by MONITOR. */
  calibrationOps: number;
}

export interface StoreWindow {
  /** Operations that resolved, and those that rejected (not counted in `ops`). */
  ops: number;
  failures: number;
  seconds: number;
  /** The runner's CPU time over the window (the client side: ioredis, and the store's own code). */
  clientCpuUs: number;
  redis: RedisWindow;
}

export interface StoreCase {
  op: StoreOp;
  size: string;
  calibration: Calibration;
  windows: StoreWindow[];
}

/** Metadata of the size an HTTP entry carries. */
const METADATA = {
  status: 200,
  headers: { 'content-type': 'application/json; charset=utf-8', etag: '"1a2b3c4d5e6f"' },
  storedAt: 0,
};
const TTL = 3600;
/** The tags of the gets' entries and of the tagged sets: a route tag and a per-entry one. */
const tags = (i: number) => ['products', `product:${i}`];

type Log = (line: string) => void;

export async function runStoreBench(
  plan: StorePlan,
  redisPort: number,
  admin: Redis,
  log: Log,
): Promise<StoreCase[]> {
  const host = '127.0.0.1';
  const raw = new Redis({ host, port: redisPort, keyPrefix: 'raw:' });
  const store = new RedisCacheStore({
    // The raw client has no command timeout; the store's default (250 ms) could fail writes when
    // 64 values of 200 KB queue on a busy machine, and this measures throughput, not resilience.
    clientOpts: { host, port: redisPort, keyPrefix: 'store:', commandTimeout: 10_000 },
    tracking: false,
  });
  // Keeps one entry: with 64 keys in turn, every read is a first read.
  const cold = new RedisCacheStore({
    clientOpts: { host, port: redisPort, keyPrefix: 'store:', commandTimeout: 10_000 },
    tracking: false,
    maxCount: 1,
  });
  try {
    const cases: { c: StoreCase; op: (i: number) => Promise<unknown> }[] = [];
    for (const size of STORE_SIZES) {
      const value = productBytes(size);
      const ops: Record<StoreOp, (i: number) => Promise<unknown>> = {
        GET: (i) => raw.getBuffer(`${size.id}:get:${i}`),
        get: (i) => cold.get(`${size.id}:get:${i}`),
        'get, unchanged': (i) => store.get(`${size.id}:get:${i}`),
        SET: (i) => raw.set(`${size.id}:set:${i}`, value, 'EX', TTL),
        set: (i) => store.set(`${size.id}:set:${i}`, value, METADATA, TTL),
        'set, 2 tags': (i) => store.set(`${size.id}:tagged:${i}`, value, METADATA, TTL, tags(i)),
      };
      for (let i = 0; i < plan.inFlight; i++) {
        await raw.set(`${size.id}:get:${i}`, value, 'EX', TTL);
        await store.set(`${size.id}:get:${i}`, value, METADATA, TTL, tags(i));
      }
      for (const name of STORE_OPS) {
        const op = ops[name];
        log(`warming up store ${name} ${size.label}`);
        await inFlight(op, plan.inFlight, plan.warmupS);
        const calibration = await calibrate(admin, async () => {
          for (let i = 0; i < plan.calibrationOps; i++) await op(i % plan.inFlight);
          return plan.calibrationOps;
        });
        cases.push({ c: { op: name, size: size.id, calibration, windows: [] }, op });
      }
    }
    for (let round = 1; round <= plan.rounds; round++) {
      const order = cases.map((_, i) => cases[(i + round - 1) % cases.length]!);
      for (const { c, op } of order) {
        const redisStart = await openWindow(admin);
        const cpu = process.cpuUsage();
        const { ops, failures, seconds } = await inFlight(op, plan.inFlight, plan.seconds);
        const { user, system } = process.cpuUsage(cpu);
        const redis = await closeWindow(admin, redisStart);
        c.windows.push({ ops, failures, seconds, clientCpuUs: user + system, redis });
        log(
          `round ${round}/${plan.rounds} store ${c.op} ${c.size}: ${Math.round(ops / seconds)} ops/s`,
        );
      }
    }
    return cases.map(({ c }) => c);
  } finally {
    await Promise.all([store.close(), cold.close()]);
    raw.disconnect();
  }
}

/** Keeps `count` calls of `op` in flight for `seconds`; each worker `i` uses its own key. */
async function inFlight(
  op: (i: number) => Promise<unknown>,
  count: number,
  seconds: number,
): Promise<{ ops: number; failures: number; seconds: number }> {
  let ops = 0;
  let failures = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      while (performance.now() < deadline) {
        try {
          await op(i);
          ops++;
        } catch {
          failures++;
        }
      }
    }),
  );
  return { ops, failures, seconds: (performance.now() - started) / 1000 };
}
