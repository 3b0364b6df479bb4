import type { Case, Framework } from './cases.js';
import { summarize, type Load } from './load.js';

/** One row of the results table. */
export interface Row {
  framework: Framework;
  case: Case;
  load: Load;
  /** Hits / lookups in the measured window (cached cases). */
  hitRatio?: number;
  /** Redis EVALSHA calls, and all Redis commands, per hit in the measured window. */
  evalshaPerHit?: number;
  commandsPerHit?: number;
  /** Every Redis command seen in the measured window, per hit. */
  commands?: Record<string, number>;
}

/** How the run was set up, for the header of the report. */
export interface Setup {
  date: string;
  cpu: string;
  cores: number;
  node: string;
  redis: string;
  autocannon: string;
  connections: number;
  warmupS: number;
  durationS: number;
  rounds: number;
  dbLatencyMs: number;
  listSize: number;
  payloadBytes: number;
  /** 1-minute load average when the run started: other work on the machine skews results. */
  loadBefore: number;
}

const NAMES: Record<Framework, string> = { express: 'Express 5', koa: 'Koa 3' };

/** The results as a markdown document. */
export function renderMarkdown(setup: Setup, rows: readonly Row[]): string {
  const baseline = new Map(rows.filter((r) => r.case.id === 'a').map((r) => [r.framework, r]));
  const lines = [
    '# restash benchmark',
    '',
    `${setup.date} · ${setup.cpu}, ${setup.cores} cores · Node ${setup.node} · Redis ${setup.redis} · autocannon ${setup.autocannon}`,
    '',
    `All figures come from one run on one machine: the app server, redis-server and autocannon share the ` +
      `same ${setup.cores} cores, so absolute numbers are low; the ratios to (a), measured in the same run, are what ` +
      `carries over. Each case: ${setup.connections} keep-alive connections, ${setup.warmupS} s warm-up ` +
      `(discarded), then ${setup.durationS} s measured in ${setup.rounds} rounds through all cases (so a ` +
      `slow spell of the machine spreads over every case). The product routes do what a list endpoint does: ` +
      `${setup.dbLatencyMs} ms of simulated database latency, then a JSON list of ${setup.listSize} ` +
      `products (${setup.payloadBytes} bytes) built per request; a cache hit skips both. Latency is per ` +
      `response (p50/p99, milliseconds); Redis commands per hit come from INFO commandstats over the measured ` +
      `window; commands run inside a Lua script count there too, so EVALSHA per hit is the number of round ` +
      `trips. Express computes its default ETag on every uncached response, as it does in production.`,
    '',
    `Load average (1 min) when the run started: ${setup.loadBefore.toFixed(2)} (near 0 on a quiet ` +
      `machine; higher means other work competed for the cores and the figures are noisier).`,
    '',
    '| framework | case | req/s | × (a) | p50 ms | p99 ms | hits | EVALSHA (round trips) / hit | Redis commands / hit |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const row of rows) {
    const base = baseline.get(row.framework);
    const { rps, p50, p99 } = summarize(row.load);
    const ratio = base ? rps / summarize(base.load).rps : Number.NaN;
    lines.push(
      `| ${NAMES[row.framework]} | (${row.case.id}) ${row.case.label} | ${Math.round(rps)} | ` +
        `${ratio.toFixed(2)}× | ${p50.toFixed(2)} | ${p99.toFixed(2)} | ` +
        `${row.hitRatio === undefined ? '–' : `${(row.hitRatio * 100).toFixed(1)} %`} | ` +
        `${perHit(row.evalshaPerHit)} | ${perHit(row.commandsPerHit)} |`,
    );
  }
  lines.push('');
  for (const row of rows) {
    if (!row.commands) continue;
    const seen = Object.entries(row.commands)
      .sort(([, a], [, b]) => b - a)
      .map(([name, perHit]) => `${name} ${perHit.toFixed(3)}`);
    lines.push(
      `- Redis commands per hit, ${NAMES[row.framework]} (${row.case.id}): ` +
        `${seen.join(', ') || 'none'}`,
    );
  }
  const failures = rows.filter((r) => r.load.non2xx > 0 || r.load.errors > 0);
  lines.push('');
  if (failures.length === 0) {
    lines.push('Every response was a 2xx; no connection errors.');
  } else {
    for (const r of failures)
      lines.push(
        `Warning: ${NAMES[r.framework]} (${r.case.id}): ${r.load.non2xx} non-2xx responses, ${r.load.errors} errors.`,
      );
  }
  lines.push('');
  return lines.join('\n');
}

function perHit(value: number | undefined): string {
  return value === undefined ? '–' : value.toFixed(3);
}
