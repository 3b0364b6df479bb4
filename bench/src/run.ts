import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { format, resolveConfig } from 'prettier';
import { freePort, redisServerBinary, ServerProcess } from '../../test/harness/processes.js';
import { startApp, type AppProcess } from './app-process.js';
import { CASES, FRAMEWORKS, type Case, type Framework } from './cases.js';
import { addLoad, emptyLoad, load, type Load } from './load.js';
import { renderMarkdown, type Row, type Setup } from './report.js';
import { DB_LATENCY_MS, LIST_SIZE } from './work.js';

// `pnpm bench`: one run, all cases, both frameworks, against a throwaway redis-server. Prints a
// markdown table and writes it to bench/results/latest.md. BENCH_WARMUP, BENCH_DURATION (seconds)
// (measured time per case, split over BENCH_ROUNDS rounds), BENCH_CONNECTIONS and BENCH_ROUNDS
// override the defaults.

const warmupS = numberFromEnv('BENCH_WARMUP', 2);
const durationS = numberFromEnv('BENCH_DURATION', 8);
const connections = numberFromEnv('BENCH_CONNECTIONS', 50, true);
const rounds = numberFromEnv('BENCH_ROUNDS', 2, true);

const binary = redisServerBinary();
if (!binary) throw new Error('pnpm bench needs redis-server on PATH (or REDIS_SERVER_BIN)');
const redis = new ServerProcess(binary, await freePort(), []);
await redis.start();
const admin = new Redis({ host: '127.0.0.1', port: redis.port, lazyConnect: true });
await admin.connect();
const redisVersion = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1] ?? 'unknown';

const loadBefore = os.loadavg()[0]!;
const tallies: Tally[] = FRAMEWORKS.flatMap((framework) =>
  CASES.map((c) => ({
    framework,
    case: c,
    load: emptyLoad(),
    hits: 0,
    lookups: 0,
    commands: new Map(),
  })),
);
const apps = new Map<Framework, AppProcess>();
let payloadBytes = 0;
try {
  for (const framework of FRAMEWORKS) apps.set(framework, await startApp(framework, redis.port));
  const first = apps.get(FRAMEWORKS[0])!;
  payloadBytes = (await (await fetch(`${first.base}/uncached/products`)).arrayBuffer()).byteLength;
  for (const tally of tallies) await warmUp(tally);
  // Rounds through all cases: a slow spell on the machine spreads over every case instead of
  // landing on one, which keeps the ratios honest on a shared box.
  for (let round = 1; round <= rounds; round++) {
    for (const tally of tallies) await measureRound(tally, round);
  }
} finally {
  await Promise.all([...apps.values()].map((app) => app.stop()));
  admin.disconnect();
  await redis.stop();
  redis.removeDir();
}
const rows = tallies.map(toRow);

const setup: Setup = {
  date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
  cpu: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
  cores: os.availableParallelism(),
  node: process.version,
  redis: redisVersion,
  autocannon: packageVersion('autocannon'),
  connections,
  warmupS,
  durationS,
  rounds,
  dbLatencyMs: DB_LATENCY_MS,
  listSize: LIST_SIZE,
  payloadBytes,
  loadBefore,
};
const resultsDir = fileURLToPath(new URL('../results/', import.meta.url));
const resultsFile = `${resultsDir}latest.md`;
// Formatted as the repository's prettier would, so `pnpm lint` stays green after a run.
const markdown = await format(renderMarkdown(setup, rows), {
  ...(await resolveConfig(resultsFile)),
  filepath: resultsFile,
});
mkdirSync(resultsDir, { recursive: true });
writeFileSync(resultsFile, markdown);
console.log(`\n${markdown}`);
console.log(`written to bench/results/latest.md`);

/** Everything measured for one case, over all rounds. */
interface Tally {
  framework: Framework;
  case: Case;
  load: Load;
  hits: number;
  lookups: number;
  commands: Map<string, number>;
}

function urlOf(tally: Tally): string {
  return `${apps.get(tally.framework)!.base}${tally.case.path}`;
}

/** Loads a case without measuring (JIT, connections, and for cached cases the first entry). */
async function warmUp(tally: Tally): Promise<void> {
  const { framework, case: c } = tally;
  process.stderr.write(`warming up ${framework} (${c.id}) ${c.label}: ${warmupS} s\n`);
  await load(urlOf(tally), warmupS, connections);
  if (!c.store) return;
  const res = await fetch(urlOf(tally));
  await res.arrayBuffer();
  const xCache = res.headers.get('x-cache');
  if (xCache !== 'HIT')
    throw new Error(`${framework} ${c.path} answers X-Cache ${xCache} after warm-up`);
}

/** Measures one round of a case; for cached cases, counts lookups and Redis commands too. */
async function measureRound(tally: Tally, round: number): Promise<void> {
  const { framework, case: c } = tally;
  const app = apps.get(framework)!;
  const seconds = durationS / rounds;
  process.stderr.write(
    `round ${round}/${rounds}: ${framework} (${c.id}) ${c.label}: ${seconds} s... `,
  );
  if (c.countRedis) await admin.config('RESETSTAT');
  const before = c.store ? (await app.stats())[c.store] : undefined;
  const result = await load(urlOf(tally), seconds, connections);
  addLoad(tally.load, result);
  if (c.store && before) {
    const after = (await app.stats())[c.store];
    const hits = after.hits - before.hits;
    tally.hits += hits;
    tally.lookups +=
      hits +
      (after.misses - before.misses) +
      (after.stale - before.stale) +
      (after.bypasses - before.bypasses);
  }
  if (c.countRedis) {
    for (const [name, calls] of await commandStats())
      tally.commands.set(name, (tally.commands.get(name) ?? 0) + calls);
  }
  process.stderr.write(`${Math.round(result.requests / result.seconds)} req/s\n`);
}

function toRow(tally: Tally): Row {
  const row: Row = { framework: tally.framework, case: tally.case, load: tally.load };
  if (!tally.case.store) return row;
  row.hitRatio = tally.lookups > 0 ? tally.hits / tally.lookups : 0;
  if (tally.case.countRedis && tally.hits > 0) {
    const perHit = (calls: number) => calls / tally.hits;
    row.evalshaPerHit = perHit(tally.commands.get('evalsha') ?? 0);
    row.commandsPerHit = perHit([...tally.commands.values()].reduce((sum, n) => sum + n, 0));
    row.commands = Object.fromEntries([...tally.commands].map(([name, n]) => [name, perHit(n)]));
  }
  return row;
}

/** Calls per command since the last RESETSTAT, without the runner's own INFO and CONFIG. */
async function commandStats(): Promise<Map<string, number>> {
  const info = await admin.info('commandstats');
  const stats = new Map<string, number>();
  for (const [, name, calls] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (name === 'info' || name!.startsWith('config')) continue;
    stats.set(name!, Number(calls));
  }
  return stats;
}

function numberFromEnv(name: string, fallback: number, integer = false): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
    throw new TypeError(`${name} must be a positive ${integer ? 'integer' : 'number'}`);
  return n;
}

function packageVersion(name: string): string {
  const url = new URL(`../node_modules/${name}/package.json`, import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}
