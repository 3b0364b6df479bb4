import { Redis } from 'ioredis';
import { RedisCacheStore } from '@restash/core';
import { freePort, redisServerBinary, ServerProcess } from '../../test/harness/processes.js';

// `pnpm bench:costs`: what the Redis store's operations cost Redis, on a throwaway redis-server
// (no local tier, so every read goes to Redis). The store sends nothing but scripts, so its round
// trips are the EVALSHA/EVAL calls INFO commandstats counts (the tests count them with MONITOR,
// which would slow Redis down here); Redis CPU is the time commandstats accounts to those scripts,
// everything they ran included.

const binary = redisServerBinary();
if (!binary) throw new Error('bench:costs needs redis-server on PATH (or REDIS_SERVER_BIN)');
const server = new ServerProcess(binary, await freePort(), []);
await server.start();
const admin = new Redis({ port: server.port, host: '127.0.0.1' });
const store = new RedisCacheStore({
  clientOpts: { port: server.port, host: '127.0.0.1' },
  tracking: false,
});

interface Cost {
  operation: string;
  roundTrips: number;
  redisUs: number;
  wallMs: number;
}
const costs: Cost[] = [];

/** Runs `work` (which does `ops` operations) and records its cost per operation. */
async function measure(operation: string, ops: number, work: () => Promise<void>): Promise<void> {
  await admin.config('RESETSTAT');
  const started = performance.now();
  await work();
  const wallMs = performance.now() - started;
  const info = await admin.info('commandstats');
  let calls = 0;
  let usec = 0;
  for (const [, , n, us] of info.matchAll(/^cmdstat_(evalsha|eval):calls=(\d+),usec=(\d+)/gm)) {
    calls += Number(n);
    usec += Number(us);
  }
  costs.push({ operation, roundTrips: calls / ops, redisUs: usec / ops, wallMs: wallMs / ops });
}

const TAGS = ['products', 'product'];
const N = 2000;
try {
  // Load every script first: a first call costs an EVALSHA and an EVAL.
  await store.set('warm', 'v', {}, 60, ['warm']);
  await store.getOrLease('warm-miss', TAGS);
  await store.lease('warm-lease');
  await store.invalidateTags(['warm']);
  const body = 'x'.repeat(2048);
  // With the fill lock (stampede protection), as the HTTP cache and wrap read a miss by default.
  await measure('miss (read + lease + fill lock, store with 2 tags)', N, async () => {
    for (let i = 0; i < N; i++) {
      const tags = [...TAGS, `key:/m/${i}`];
      const { lease } = await store.getOrLease(`m:${i}`, tags, { lock: 5000 });
      await store.setLeased(lease!, body, { status: 200 }, 600, tags);
    }
  });
  await measure('hit (2 KB, 3 tags)', N, async () => {
    for (let i = 0; i < N; i++) await store.get(`m:${i}`);
  });
  await measure('hit of an entry read before (its value stays in Redis)', N, async () => {
    for (let i = 0; i < N; i++) await store.get(`m:${i}`);
  });
  for (let i = 0; i < 3000; i++) await store.lease(`miss:${i}`, [`key:/miss/${i}`]);
  for (let i = 0; i < 200; i++) await store.set(`one:${i}`, body, {}, 600, [`one:${i}`]);
  await measure('invalidate a 1-entry tag (after 3,000 misses)', 200, async () => {
    for (let i = 0; i < 200; i++) await store.invalidateTags([`one:${i}`]);
  });
  for (const size of [1000, 10_000]) {
    const tag = `t${size}`;
    for (let i = 0; i < size; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => store.set(`${tag}:${i + j}`, body, {}, 600, [tag])),
      );
    }
    await measure(`invalidate a ${size.toLocaleString('en')}-entry tag`, 1, async () => {
      await store.invalidateTags([tag]);
    });
  }
} finally {
  await store.close();
  admin.disconnect();
  await server.stop();
  server.removeDir();
}

console.log('| operation | round trips | Redis CPU (µs) | wall (ms) |');
console.log('| --- | ---: | ---: | ---: |');
for (const { operation, roundTrips, redisUs, wallMs } of costs) {
  console.log(`| ${operation} | ${roundTrips} | ${redisUs.toFixed(1)} | ${wallMs.toFixed(2)} |`);
}
