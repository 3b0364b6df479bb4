import type { Framework } from './modes.js';
import type { StoreOp } from './store-bench.js';

// The goals of the issue the benchmark was built for, so that each report says how far they are.

/** A goal for ceiling CPU ÷ restash CPU per hit (higher is better; 1 = as cheap as the ceiling). */
export interface HttpGoal {
  framework: Framework;
  mode: 'local' | 'redis';
  size: string;
  /** The goal; absent where the issue set none. */
  min?: number;
  /** The ratio measured when the goal was set. */
  filed: number;
}

function row(
  framework: Framework,
  mode: 'local' | 'redis',
  filed: [number, number, number],
  min: [number | undefined, number | undefined, number | undefined],
): HttpGoal[] {
  return (['2kb', '20kb', '200kb'] as const).map((size, i) => ({
    framework,
    mode,
    size,
    min: min[i],
    filed: filed[i]!,
  }));
}

export const HTTP_GOALS: readonly HttpGoal[] = [
  ...row('express', 'local', [0.81, 0.67, 0.8], [0.92, 0.92, 0.92]),
  ...row('koa', 'local', [0.51, 0.47, 0.77], [0.9, 0.9, 0.9]),
  ...row('express', 'redis', [0.71, 0.66, 0.24], [0.8, 0.8, 0.8]),
  ...row('koa', 'redis', [0.41, 0.27, 0.09], [0.6, undefined, 0.4]),
];

/** A ratio of the store micro-benchmark, paired per round: `of` ÷ `to`, on `metric`. */
export interface StoreGoal {
  label: string;
  size: string;
  of: StoreOp;
  to: StoreOp;
  metric: 'ops' | 'commandUs';
  min?: number;
  max?: number;
}

export const STORE_GOALS: readonly StoreGoal[] = [
  ...(['2kb', '200kb'] as const).flatMap((size): StoreGoal[] => [
    { label: 'get ÷ GET, ops/s', size, of: 'get', to: 'GET', metric: 'ops', min: 0.8 },
    { label: 'get, unchanged ÷ GET, ops/s', size, of: 'get, unchanged', to: 'GET', metric: 'ops' },
    { label: 'set ÷ SET, ops/s', size, of: 'set', to: 'SET', metric: 'ops', min: 0.7 },
    {
      label: 'set, 2 tags ÷ SET, ops/s',
      size,
      of: 'set, 2 tags',
      to: 'SET',
      metric: 'ops',
      min: 0.5,
    },
  ]),
  { label: 'get ÷ GET, Redis CPU per op', size: '2kb', of: 'get', to: 'GET', metric: 'commandUs' },
  {
    label: 'get ÷ GET, Redis CPU per op',
    size: '200kb',
    of: 'get',
    to: 'GET',
    metric: 'commandUs',
    max: 1.5,
  },
  {
    label: 'get, unchanged ÷ GET, Redis CPU per op',
    size: '200kb',
    of: 'get, unchanged',
    to: 'GET',
    metric: 'commandUs',
  },
];

/** Whether `value` meets a goal: true, false, or undefined where there is none. */
export function meets(value: number, goal: { min?: number; max?: number }): boolean | undefined {
  if (goal.min === undefined && goal.max === undefined) return undefined;
  return (
    (goal.min === undefined || value >= goal.min) && (goal.max === undefined || value <= goal.max)
  );
}

/** The goal as text: `≥ 0.92`, `≤ 1.5`, or `–`. */
export function goalText(goal: { min?: number; max?: number }): string {
  if (goal.min !== undefined) return `≥ ${goal.min.toFixed(2)}`;
  if (goal.max !== undefined) return `≤ ${goal.max.toFixed(2)}`;
  return '–';
}
