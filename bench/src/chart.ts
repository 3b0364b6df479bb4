import { fixed, micros } from './format.js';
import { goalText, HTTP_GOALS, meets, STORE_GOALS } from './goals.js';
import { FRAMEWORK_NAMES, FRAMEWORKS, modesOf, type Mode } from './modes.js';
import type { BenchResult } from './result.js';
import { SIZES, sizeById } from './sizes.js';
import { storeRatio, summarizeHttp } from './summary.js';

// The chart the README shows, drawn from a run's results: per framework, one row per mode and one
// column per body size, each bar the ceiling's server CPU per request ÷ the mode's (1 = as cheap
// as the ceiling), labelled with that ratio and the CPU per request, ticks where the issue set a
// goal; then the store micro-benchmark's ratios against their goals.

const WIDTH = 980;
const MARGIN = 16;
const LABEL_W = 250;
const COLUMN_W = (WIDTH - 2 * MARGIN - LABEL_W) / SIZES.length;
const BAR_W = 120;
const ROW_H = 22;
const BAR_H = 14;
const COLOURS: Record<Mode['kind'], string> = {
  restash: '#2563eb',
  peer: '#d97706',
  reference: '#9ca3af',
};
const GOAL_COLOUR = '#111827';
const MISSED_COLOUR = '#dc2626';

class Svg {
  readonly parts: string[] = [];
  y = MARGIN;

  text(x: number, y: number, content: string, attrs = ''): void {
    this.parts.push(`<text x="${r(x)}" y="${r(y)}" ${attrs}>${escape(content)}</text>`);
  }

  rect(x: number, y: number, w: number, h: number, fill: string): void {
    this.parts.push(
      `<rect x="${r(x)}" y="${r(y)}" width="${r(Math.max(0, w))}" height="${r(h)}" fill="${fill}"/>`,
    );
  }

  line(x1: number, y1: number, x2: number, y2: number, attrs: string): void {
    this.parts.push(`<line x1="${r(x1)}" y1="${r(y1)}" x2="${r(x2)}" y2="${r(y2)}" ${attrs}/>`);
  }

  render(): string {
    const height = this.y + MARGIN;
    return [
      `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${r(height)}" viewBox="0 0 ${WIDTH} ${r(height)}" font-family="-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="12" fill="#111827">`,
      `<rect width="100%" height="100%" fill="#ffffff"/>`,
      ...this.parts,
      '</svg>',
      '',
    ].join('\n');
  }
}

/** A horizontal bar of `value` on a 0…`max` scale at (x, y), with a goal tick if any. */
function bar(
  svg: Svg,
  x: number,
  y: number,
  value: number,
  max: number,
  colour: string,
  goal?: { at: number; met: boolean | undefined },
): void {
  const width = (v: number) => (Math.min(v, max) / max) * BAR_W;
  svg.rect(x, y + (ROW_H - BAR_H) / 2, BAR_W, BAR_H, '#f3f4f6');
  if (!Number.isNaN(value)) svg.rect(x, y + (ROW_H - BAR_H) / 2, width(value), BAR_H, colour);
  if (goal) {
    const gx = x + width(goal.at);
    const stroke = goal.met === false ? MISSED_COLOUR : GOAL_COLOUR;
    svg.line(gx, y + 1, gx, y + ROW_H - 1, `stroke="${stroke}" stroke-width="2"`);
  }
}

export function renderChart(result: BenchResult): string {
  const svg = new Svg();
  const http = summarizeHttp(result.http);
  const date = `${result.setup.date}${result.setup.quick ? ', quick run' : ''}`;
  svg.y += 14;
  svg.text(MARGIN, svg.y, `restash benchmark — ${date}`, 'font-size="16" font-weight="600"');
  for (const line of [
    "Bars: the ceiling's server CPU per request ÷ the mode's (1 = as cheap as the ceiling: longer is cheaper);",
    'labels: that ratio · µs of server CPU per request; ticks: goals (red: missed). Blue: restash; orange: other',
    'caching middleware on the same Redis (Express only: none supports Koa); grey: bare route and ceiling.',
  ]) {
    svg.y += 16;
    svg.text(MARGIN, svg.y, line, 'fill="#4b5563"');
  }
  for (const framework of FRAMEWORKS) {
    const rows = http.filter((s) => s.framework === framework);
    if (rows.length === 0) continue;
    const max = Math.max(
      1,
      Math.min(1.5, ...rows.map((s) => s.ceilingRatio).filter((v) => !Number.isNaN(v))),
    );
    svg.y += 26;
    svg.text(MARGIN, svg.y, FRAMEWORK_NAMES[framework], 'font-size="14" font-weight="600"');
    SIZES.forEach((size, i) => {
      svg.text(MARGIN + LABEL_W + i * COLUMN_W, svg.y, size.label, 'font-weight="600"');
    });
    svg.y += 6;
    const top = svg.y;
    for (const mode of modesOf(framework)) {
      svg.text(MARGIN, svg.y + 15, mode.short);
      SIZES.forEach((size, i) => {
        const s = rows.find((row) => row.mode === mode.id && row.size === size.id);
        if (!s) return;
        const goal = HTTP_GOALS.find(
          (g) => g.framework === framework && g.mode === mode.id && g.size === size.id,
        );
        const x = MARGIN + LABEL_W + i * COLUMN_W;
        const tick =
          goal?.min === undefined ? undefined : { at: goal.min, met: meets(s.ceilingRatio, goal) };
        bar(svg, x, svg.y, s.ceilingRatio, max, COLOURS[mode.kind], tick);
        svg.text(
          x + BAR_W + 6,
          svg.y + 15,
          `${fixed(s.ceilingRatio, 2)} · ${micros(s.serverUs)} µs`,
        );
      });
      svg.y += ROW_H;
    }
    // The scale's 1.0 (as cheap as the ceiling) when longer bars than that could be drawn.
    if (max > 1) {
      SIZES.forEach((_, i) => {
        const x = MARGIN + LABEL_W + i * COLUMN_W + BAR_W / max;
        svg.line(x, top, x, svg.y, 'stroke="#6b7280" stroke-dasharray="2,2"');
      });
    }
  }
  if (result.store.length > 0) storeSection(svg, result);
  return svg.render();
}

function storeSection(svg: Svg, result: BenchResult): void {
  const inFlight = result.setup.store?.inFlight ?? 0;
  const values = STORE_GOALS.map((goal) => storeRatio(result.store, goal));
  // Throughput ratios share a 0…1 scale (longer if one passes 1); the Redis CPU ratio, where
  // lower is better, gets 0…3 so that its goal (1.5) sits mid-bar; longer bars are cut, the
  // label still says how long.
  const opsMax = Math.max(
    1,
    ...values.filter((v, i) => !Number.isNaN(v) && STORE_GOALS[i]!.metric === 'ops'),
  );
  const scale = (metric: 'ops' | 'commandUs') => (metric === 'ops' ? opsMax : 3);
  svg.y += 26;
  svg.text(
    MARGIN,
    svg.y,
    `Store micro-benchmark: RedisCacheStore ÷ raw command, ${inFlight} in flight, tracking off`,
    'font-size="14" font-weight="600"',
  );
  svg.y += 6;
  STORE_GOALS.forEach((goal, i) => {
    const value = values[i]!;
    const met = meets(value, goal);
    const lower = goal.max !== undefined || goal.metric === 'commandUs';
    svg.text(
      MARGIN,
      svg.y + 15,
      `${goal.label}, ${sizeById(goal.size)!.label}${lower ? ' (lower is better)' : ''}`,
    );
    const at = goal.min ?? goal.max;
    const x = MARGIN + LABEL_W + COLUMN_W;
    const tick = at === undefined ? undefined : { at, met };
    bar(svg, x, svg.y, value, scale(goal.metric), COLOURS.restash, tick);
    svg.text(
      x + BAR_W + 6,
      svg.y + 15,
      `${fixed(value, 2)}${at === undefined ? '' : ` (goal ${goalText(goal)})`}`,
    );
    svg.y += ROW_H;
  });
}

function r(n: number): string {
  return String(Math.round(n * 10) / 10);
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
