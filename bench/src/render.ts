import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writeResults } from './output.js';
import type { BenchResult } from './result.js';

// `pnpm --filter @restash/bench render <results.json> [--save]`: renders the report and chart of
// an earlier run again from its raw results (after a change to the report, without measuring).

const args = process.argv.slice(2);
const file = args.find((arg) => !arg.startsWith('--'));
if (!file) throw new Error('usage: render.ts <results.json> [--save]');
const result = JSON.parse(readFileSync(file, 'utf8')) as BenchResult;
const written = await writeResults(result, args.includes('--save'));
console.log(`written: ${path.relative(process.cwd(), written)} (and its .svg and .json)`);
