import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { freePort, redisServerBinary, ServerProcess } from '../../test/harness/processes.js';
import { runHttp, type HttpCase } from './http-bench.js';
import { writeResults } from './output.js';
import { parsePlan } from './plan.js';
import type { BenchResult } from './result.js';
import { SIZES } from './sizes.js';
import { runStoreBench, type StoreCase } from './store-bench.js';
import { DB_LATENCY_MS, productBytes } from './work.js';

// `pnpm bench`: the HTTP benchmark (every mode of Express and Koa at every body size, in
// interleaved rounds) and the store micro-benchmark, against one throwaway redis-server. Writes
// a markdown report, its SVG chart and the raw results (see plan.ts for the options).

const plan = parsePlan(process.argv.slice(2));
const started = performance.now();
const log = (line: string): void => {
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${line}\n`);
};

const binary = redisServerBinary();
if (!binary) throw new Error('pnpm bench needs redis-server on PATH (or REDIS_SERVER_BIN)');
// Nothing is saved; the memory cap only guards against a run gone wrong (miss entries are
// dropped after each window; were they not, the shortest-lived would go first).
const redis = new ServerProcess(binary, await freePort(), [
  '--maxmemory',
  '4gb',
  '--maxmemory-policy',
  'volatile-ttl',
]);
await redis.start();
const admin = new Redis({ host: '127.0.0.1', port: redis.port });
const loadBefore = os.loadavg()[0]!;
let http: HttpCase[] = [];
let store: StoreCase[] = [];
let redisVersion = 'unknown';
try {
  redisVersion = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1] ?? redisVersion;
  if (plan.http) http = await runHttp(plan.http, redis.port, admin, log);
  if (plan.store) store = await runStoreBench(plan.store, redis.port, admin, log);
} finally {
  admin.disconnect();
  await redis.stop();
  redis.removeDir();
}

const result: BenchResult = {
  setup: {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    quick: plan.quick,
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
    cores: os.availableParallelism(),
    node: process.version,
    redis: redisVersion,
    versions: Object.fromEntries(
      [
        'autocannon',
        'express',
        'koa',
        'ioredis',
        'apicache',
        'route-cache',
        'express-redis-cache',
        'redis',
      ].map((name) => [name, packageVersion(name)]),
    ),
    loadBefore,
    dbLatencyMs: DB_LATENCY_MS,
    bodyBytes: Object.fromEntries(SIZES.map((size) => [size.id, productBytes(size).length])),
    http: plan.http,
    store: plan.store,
  },
  http,
  store,
};
const file = await writeResults(result, plan.save);
log(`done: ${path.relative(process.cwd(), file)} (and its .svg and .json)`);
console.log(readFileSync(file, 'utf8'));

function packageVersion(name: string): string {
  const url = new URL(`../node_modules/${name}/package.json`, import.meta.url);
  return (JSON.parse(readFileSync(fileURLToPath(url), 'utf8')) as { version: string }).version;
}
