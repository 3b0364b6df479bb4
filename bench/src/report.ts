import { count, fixed, mark, micros } from './format.js';
import { goalText, HTTP_GOALS, meets, STORE_GOALS } from './goals.js';
import { FRAMEWORK_NAMES, FRAMEWORKS, MODES, modeById, type Framework } from './modes.js';
import type { BenchResult, Setup } from './result.js';
import { SIZES, sizeById } from './sizes.js';
import { STORE_OPS } from './store-bench.js';
import {
  storeRatio,
  summarizeHttp,
  summarizeStore,
  type HttpSummary,
  type StoreSummary,
} from './summary.js';

/** The results as a markdown document; `chart` is the SVG's path relative to it. */
export function renderMarkdown(result: BenchResult, chart: string): string {
  const http = summarizeHttp(result.http);
  const store = summarizeStore(result.store);
  const lines = [
    '# restash benchmark',
    '',
    ...head(result.setup),
    '',
    `![Server CPU per request of every mode, as a share of the ceiling's](${chart})`,
    '',
  ];
  if (http.length > 0) lines.push(...goalTable(http), '', ...httpMethod(result.setup), '');
  if (store.length > 0) lines.push(...storeTables(result, store), '');
  for (const framework of FRAMEWORKS) {
    const rows = http.filter((s) => s.framework === framework);
    if (rows.length > 0) lines.push(...caseTable(framework, rows), '');
  }
  if (http.length > 0) lines.push(...commandLists(result), '', ...warnings(http), '');
  return lines.join('\n');
}

function head(setup: Setup): string[] {
  const v = setup.versions;
  return [
    `${setup.date} · ${setup.quick ? '**quick run** (short windows: indicative only) · ' : ''}` +
      `${setup.cpu}, ${setup.cores} cores · Node ${setup.node} · Redis ${setup.redis} · ` +
      `autocannon ${v.autocannon} · Express ${v.express} · Koa ${v.koa}`,
    '',
    `One machine runs everything: the server process under test, redis-server and the load ` +
      `generator (autocannon, in the runner's process) share its ${setup.cores} cores, so req/s moves ` +
      `by ±30 % between runs. What carries over is CPU time per request and ratios taken within ` +
      `one run. Load average (1 min) when the run started: ${setup.loadBefore.toFixed(2)} (near 0 ` +
      `on a quiet machine).`,
  ];
}

function httpMethod(setup: Setup): string[] {
  const plan = setup.http!;
  const v = setup.versions;
  const sizes = SIZES.map((s) => `${s.label} (${count(setup.bodyBytes[s.id] ?? NaN)} bytes)`);
  return [
    '## How the HTTP benchmark measures',
    '',
    `Every mode is an app of its own with one route, \`GET /products/:size\`, served from one ` +
      `server process per framework (a child of the runner). Its handler waits ` +
      `${setup.dbLatencyMs} ms (a simulated query: time, not CPU), then builds a product list of ` +
      `${sizes.join(', ')} as JSON. Modes: the **bare route**; the **ceiling**, a route middleware ` +
      `answering with the bytes and headers of a restash hit copied at start-up (the cheapest a ` +
      `hit can be in the framework: no lookup, nothing but the framework's way to the socket); ` +
      `restash's **local tier** (RedisCacheStore with tracking, warm hits served in process), ` +
      `its **Redis tier** (tracking off: every hit reads Redis), a **miss** on every request ` +
      `(unique URLs; the entries are dropped after each window); and, on Express only — none of ` +
      `them supports Koa — **apicache** ${v.apicache} (node-redis ${v.redis} client), ` +
      `**route-cache** ${v['route-cache']} (its ioredis store) and **express-redis-cache** ` +
      `${v['express-redis-cache']}, all on the same redis-server.`,
    '',
    `Each case: ${plan.warmupS} s of warm-up (discarded), then ${plan.rounds} rounds of ` +
      `${plan.seconds} s at ${plan.connections} keep-alive connections; every round goes through ` +
      `all cases, each group of one framework and size starting at another mode. Figures are ` +
      `medians over rounds. **Server CPU per request** is the server process's ` +
      `\`process.cpuUsage()\` over the window ÷ requests it received; **ceiling ÷ mode** is the ` +
      `ceiling's CPU per request ÷ the mode's, paired per round (both measured in the same round), ` +
      `median over rounds: 1 means as cheap as the ceiling. **Redis round trips** and **Redis CPU** ` +
      `come from INFO commandstats over the window, top-level commands only (a MONITOR session of ` +
      `${plan.calibrationRequests} sequential requests per case, outside the windows, tells which ` +
      `commands ran inside a script: they are not round trips, and their time is already in the ` +
      `script's); a MULTI/EXEC counts its commands. Commandstats times each command by the clock, ` +
      `so on a busy machine it also counts moments Redis was not scheduled. **Redis process CPU** ` +
      `is INFO cpu (the process's user + system time) over the window: it includes reading and ` +
      `writing sockets, which commandstats leaves out, and Redis's background work. ` +
      `**Handler runs** per request are 0 for a cache that hits. Express computes its default ETag ` +
      `on every response it serialises, as in production.`,
  ];
}

function goalTable(http: readonly HttpSummary[]): string[] {
  const lines = [
    '## Goals: ceiling CPU ÷ restash CPU per hit',
    '',
    '| server CPU per request, ceiling ÷ restash | ' +
      SIZES.map((s) => s.label).join(' | ') +
      ' | goal | at filing |',
    '|---|' + SIZES.map(() => '--:').join('|') + '|---|---|',
  ];
  for (const framework of FRAMEWORKS) {
    for (const mode of ['local', 'redis'] as const) {
      const goals = HTTP_GOALS.filter((g) => g.framework === framework && g.mode === mode);
      const cells = goals.map((goal) => {
        const s = http.find(
          (h) => h.framework === framework && h.mode === mode && h.size === goal.size,
        );
        return s ? `${fixed(s.ceilingRatio, 2)}${mark(meets(s.ceilingRatio, goal))}` : '–';
      });
      if (cells.every((c) => c === '–')) continue;
      const texts = goals.map((g) => goalText(g));
      const goal = texts.every((t) => t === texts[0])
        ? texts[0]!
        : goals
            .map((g, i) => `${texts[i]} at ${sizeById(g.size)!.label}`)
            .filter((t) => !t.startsWith('–'))
            .join(', ');
      lines.push(
        `| ${FRAMEWORK_NAMES[framework]}, ${modeById(mode).label.replace('restash, ', '')} | ` +
          `${cells.join(' | ')} | ${goal} | ${goals.map((g) => g.filed.toFixed(2)).join(' / ')} |`,
      );
    }
  }
  return lines;
}

function storeTables(result: BenchResult, store: readonly StoreSummary[]): string[] {
  const plan = result.setup.store!;
  const lines = [
    '## Store micro-benchmark: RedisCacheStore against raw commands',
    '',
    `\`get\` and \`set\` of a RedisCacheStore with tracking off (every get goes to Redis: \`get\` ` +
      `is a first read, its value coming with it; \`get, unchanged\` reads entries the store read ` +
      `whole before, whose value stays in Redis) against the GET and SET an ioredis client sends ` +
      `for the same value (the HTTP ` +
      `benchmark's product list), ${plan.inFlight} operations in flight, ${plan.rounds} rounds of ` +
      `${plan.seconds} s through all cases, medians over rounds; ratios are paired per round. ` +
      `Entries read by \`get\` carry two tags, as the tagged \`set\`s write them. Redis CPU per ` +
      `operation as in the HTTP benchmark (top-level commands in commandstats; the process's CPU ` +
      `beside it); client CPU is the runner's own, ioredis and the store's code.`,
    '',
    '| ratio | size | measured | goal |',
    '|---|---|--:|--:|',
  ];
  for (const goal of STORE_GOALS) {
    const value = storeRatio(result.store, goal);
    lines.push(
      `| ${goal.label} | ${sizeById(goal.size)!.label} | ${fixed(value, 2)}${mark(meets(value, goal))} | ${goalText(goal)} |`,
    );
  }
  lines.push(
    '',
    '| operation | size | ops/s | round trips / op | Redis CPU µs / op | Redis process CPU µs / op | client CPU µs / op |',
    '|---|---|--:|--:|--:|--:|--:|',
  );
  for (const size of SIZES) {
    for (const op of STORE_OPS) {
      const s = store.find((x) => x.op === op && x.size === size.id);
      if (!s) continue;
      lines.push(
        `| ${op} | ${size.label} | ${count(s.opsPerS)} | ${fixed(s.roundTrips, 2)} | ` +
          `${micros(s.redisCommandUs)} | ${micros(s.redisProcessUs)} | ${micros(s.clientUs)} |`,
      );
    }
  }
  for (const s of store.filter((x) => x.failures > 0))
    lines.push(
      '',
      `Warning: store ${s.op}, ${sizeById(s.size)!.label}: ${s.failures} operations failed.`,
    );
  return lines;
}

function caseTable(framework: Framework, rows: readonly HttpSummary[]): string[] {
  const lines = [
    `## ${FRAMEWORK_NAMES[framework]}`,
    '',
    '| size | mode | req/s | p50 ms | p99 ms | server CPU µs / req | ceiling ÷ mode | Redis round trips / req | Redis CPU µs / req | Redis process CPU µs / req | handler runs / req |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const size of SIZES) {
    for (const mode of MODES) {
      const s = rows.find((r) => r.size === size.id && r.mode === mode.id);
      if (!s) continue;
      lines.push(
        `| ${size.label} | ${mode.label} | ${count(s.rps)} | ${fixed(s.p50, 2)} | ${fixed(s.p99, 2)} | ` +
          `${micros(s.serverUs)} | ${fixed(s.ceilingRatio, 2)} | ${fixed(s.roundTrips, 2)} | ` +
          `${micros(s.redisCommandUs)} | ${micros(s.redisProcessUs)} | ${fixed(s.originRuns, 2)} |`,
      );
    }
  }
  return lines;
}

/** What MONITOR saw per request, by case: the detail behind the round-trip counts. */
function commandLists(result: BenchResult): string[] {
  const lines = ['## Redis commands per request, as MONITOR saw them', ''];
  for (const c of result.http) {
    const { operations, top, lua } = c.calibration;
    const list = (counts: Record<string, number>) =>
      Object.entries(counts)
        .sort(([, a], [, b]) => b - a)
        .map(([name, n]) => `${name} ${(n / operations).toFixed(2)}`)
        .join(', ');
    if (Object.keys(top).length + Object.keys(lua).length === 0) continue;
    const inside = list(lua);
    lines.push(
      `- ${FRAMEWORK_NAMES[c.framework]}, ${sizeById(c.size)!.label}, ${modeById(c.mode).label}: ` +
        `${list(top) || 'none'}${inside ? `; inside scripts: ${inside}` : ''}`,
    );
  }
  return lines;
}

function warnings(http: readonly HttpSummary[]): string[] {
  const lines: string[] = [];
  for (const s of http) {
    const where = `${FRAMEWORK_NAMES[s.framework]}, ${sizeById(s.size)!.label}, ${modeById(s.mode).label}`;
    if (s.non2xx > 0 || s.errors > 0)
      lines.push(`Warning: ${where}: ${s.non2xx} non-2xx responses, ${s.errors} errors.`);
    // A Redis timeout on a saturated machine turns a hit into a miss: rare, but said.
    if (modeById(s.mode).hits && s.originRunsTotal > 0)
      lines.push(`Warning: ${where}: the handler ran ${s.originRunsTotal} times over all rounds.`);
  }
  return lines.length > 0 ? lines : ['Every response was a 2xx; no hit mode ran its handler.'];
}
