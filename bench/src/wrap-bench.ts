import { Redis } from 'ioredis';
import { createDataCache, RedisCacheStore } from '@restash/core';
import { freePort, redisServerBinary, ServerProcess } from '../../test/harness/processes.js';
import { fixed, micros } from './format.js';
import { calibrate, closeWindow, openWindow, redisCost } from './redis-stats.js';
import { SIZES } from './sizes.js';
import { median } from './stats.js';
import { productList } from './work.js';

// `pnpm bench:wrap`: cache-aside with `wrap` against the version every Redis guide shows (GET,
// JSON.parse; on a miss the query, then SET … EX), same data, same redis-server, same number of
// calls in flight. Hits and misses, interleaved rounds, medians: calls/s, the client's CPU per
// call (JSON and ioredis included), Redis round trips and Redis CPU per call (top-level commands,
// per a MONITOR calibration outside the measured windows).

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SECONDS = Number(process.env.SECONDS ?? 2);
const IN_FLIGHT = 16;
const TTL = 3600;
const size = SIZES[0]!;

const binary = redisServerBinary();
if (!binary) throw new Error('bench:wrap needs redis-server on PATH (or REDIS_SERVER_BIN)');
const server = new ServerProcess(binary, await freePort(), []);
await server.start();
const host = '127.0.0.1';
const clientOpts = { host, port: server.port, commandTimeout: 10_000 };
const admin = new Redis({ host, port: server.port });
const raw = new Redis({ ...clientOpts, keyPrefix: 'naive:' });
const redisTier = new RedisCacheStore({ clientOpts, tracking: false });
const localTier = new RedisCacheStore({ clientOpts });
const onError = (err: unknown) => console.error(err);
const overRedis = createDataCache({ store: redisTier, ttl: TTL, onError });
const overLocal = createDataCache({ store: localTier, ttl: TTL, onError });
const query = () => productList(size);

/** The guides' cache-aside: two round trips per miss, one per hit. */
async function naive(key: string): Promise<unknown> {
  const cached = await raw.get(key);
  if (cached !== null) return JSON.parse(cached) as unknown;
  const value = await query();
  await raw.set(key, JSON.stringify(value), 'EX', TTL);
  return value;
}

let unique = 0;
const CASES: Record<string, (i: number) => Promise<unknown>> = {
  'hit, naive GET + JSON.parse': (i) => naive(`hit:${i}`),
  'hit, wrap (Redis)': (i) => overRedis.wrap(`hit:${i}`, query),
  'hit, wrap (local tier)': (i) => overLocal.wrap(`hit:${i}`, query),
  'miss, naive GET, query, SET': () => naive(`miss:${unique++}`),
  'miss, wrap': () => overRedis.wrap(`miss:${unique++}`, query),
};

interface Window {
  perSecond: number;
  clientUs: number;
  roundTrips: number;
  redisUs: number;
}

try {
  for (let i = 0; i < IN_FLIGHT; i++) {
    await naive(`hit:${i}`);
    await overRedis.wrap(`hit:${i}`, query);
  }
  const measured = new Map<string, { calibration: Awaited<ReturnType<typeof calibrate>> }>();
  for (const [name, call] of Object.entries(CASES)) {
    await inFlight(call, 1);
    const calibration = await calibrate(admin, async () => {
      for (let i = 0; i < 200; i++) await call(i % IN_FLIGHT);
      return 200;
    });
    measured.set(name, { calibration });
  }
  const windows = new Map<string, Window[]>(Object.keys(CASES).map((name) => [name, []]));
  const names = Object.keys(CASES);
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of names.map((_, i) => names[(i + round) % names.length]!)) {
      const redisStart = await openWindow(admin);
      const cpu = process.cpuUsage();
      const { calls, seconds } = await inFlight(CASES[name]!, SECONDS);
      const { user, system } = process.cpuUsage(cpu);
      const cost = redisCost(await closeWindow(admin, redisStart), measured.get(name)!.calibration);
      windows.get(name)!.push({
        perSecond: calls / seconds,
        clientUs: (user + system) / calls,
        roundTrips: cost.roundTrips / calls,
        redisUs: cost.commandUs / calls,
      });
      process.stderr.write(
        `round ${round + 1}/${ROUNDS} ${name}: ${Math.round(calls / seconds)}/s\n`,
      );
    }
  }
  console.log(
    `\n${size.label} product list, ${IN_FLIGHT} calls in flight, medians of ${ROUNDS} rounds\n`,
  );
  console.log('| case | calls/s | client CPU per call | round trips | Redis CPU per call |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [name, list] of windows) {
    const m = (pick: (w: Window) => number) => median(list.map(pick));
    console.log(
      `| ${name} | ${Math.round(m((w) => w.perSecond))} | ${micros(m((w) => w.clientUs))} | ${fixed(
        m((w) => w.roundTrips),
        2,
      )} | ${micros(m((w) => w.redisUs))} |`,
    );
  }
} finally {
  await Promise.all([overRedis.close(), overLocal.close()]);
  await Promise.all([redisTier.close(), localTier.close()]);
  raw.disconnect();
  admin.disconnect();
  await server.stop();
  server.removeDir();
}

/** Keeps {@link IN_FLIGHT} calls going for `seconds`; worker `i` reads key `i`. */
async function inFlight(
  call: (i: number) => Promise<unknown>,
  seconds: number,
): Promise<{ calls: number; seconds: number }> {
  let calls = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async (_, i) => {
      while (performance.now() < deadline) {
        await call(i);
        calls++;
      }
    }),
  );
  return { calls, seconds: (performance.now() - started) / 1000 };
}
