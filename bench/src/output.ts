import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { renderChart } from './chart.js';
import { renderMarkdown } from './report.js';
import type { BenchResult } from './result.js';

const resultsDir = fileURLToPath(new URL('../results/', import.meta.url));

/**
 * Writes the report, its chart and the raw results: by default to bench/results/local/ (ignored
 * by git), with `save` to the committed bench/results/latest.*. Returns the markdown's path.
 */
export async function writeResults(result: BenchResult, save: boolean): Promise<string> {
  const dir = save ? resultsDir : path.join(resultsDir, 'local');
  const stamp = result.setup.date.replace(/[: ]/g, '-').replace(/-UTC$/, '');
  const name = save ? 'latest' : `${stamp}${result.setup.quick ? '-quick' : ''}`;
  mkdirSync(dir, { recursive: true });
  const file = (ext: string) => path.join(dir, `${name}.${ext}`);
  writeFileSync(file('svg'), renderChart(result));
  await writeFormatted(file('md'), renderMarkdown(result, `${name}.svg`));
  await writeFormatted(file('json'), JSON.stringify(result));
  return file('md');
}

/** Formatted as the repository's Prettier would, so `pnpm lint` stays green after a saved run. */
async function writeFormatted(file: string, text: string): Promise<void> {
  writeFileSync(file, await format(text, { ...(await resolveConfig(file)), filepath: file }));
}
