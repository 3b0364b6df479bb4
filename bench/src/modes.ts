// What the benchmark measures: every mode answers GET /products/:size in an app of its own (one
// app and one route per mode, so routing costs every mode the same), at every body size.

export const FRAMEWORKS = ['express', 'koa'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

export const FRAMEWORK_NAMES: Record<Framework, string> = { express: 'Express 5', koa: 'Koa 3' };

export type ModeId =
  | 'bare'
  | 'ceiling'
  | 'local'
  | 'redis'
  | 'miss'
  | 'apicache'
  | 'route-cache'
  | 'express-redis-cache';

export interface Mode {
  id: ModeId;
  label: string;
  /** The chart's row label. */
  short: string;
  /** Colours the chart: what users compare restash with, restash itself, or other libraries. */
  kind: 'reference' | 'restash' | 'peer';
  frameworks: readonly Framework[];
  /** Every measured request should be answered without running the route's handler. */
  hits: boolean;
  /** Each request asks for a URL nobody asked for before (`?id=<unique>`). */
  uniqueUrls?: boolean;
  /** A warm hit sends Redis nothing (restash's local tier). */
  inProcess?: boolean;
}

const BOTH = FRAMEWORKS;
const EXPRESS_ONLY: readonly Framework[] = ['express'];

export const MODES: readonly Mode[] = [
  {
    id: 'bare',
    label: 'bare route (no cache)',
    short: 'bare route',
    kind: 'reference',
    frameworks: BOTH,
    hits: false,
  },
  {
    id: 'ceiling',
    label: 'ceiling (precomputed hit in a route middleware)',
    short: 'ceiling',
    kind: 'reference',
    frameworks: BOTH,
    hits: true,
  },
  {
    id: 'local',
    label: 'restash, local tier',
    short: 'restash, local tier',
    kind: 'restash',
    frameworks: BOTH,
    hits: true,
    inProcess: true,
  },
  {
    id: 'redis',
    label: 'restash, Redis tier (tracking off)',
    short: 'restash, Redis tier',
    kind: 'restash',
    frameworks: BOTH,
    hits: true,
  },
  {
    id: 'miss',
    label: 'restash miss (unique URLs)',
    short: 'restash, miss',
    kind: 'restash',
    frameworks: BOTH,
    hits: false,
    uniqueUrls: true,
  },
  {
    id: 'apicache',
    label: 'apicache (redis 3 client)',
    short: 'apicache',
    kind: 'peer',
    frameworks: EXPRESS_ONLY,
    hits: true,
  },
  {
    id: 'route-cache',
    label: 'route-cache (ioredis store)',
    short: 'route-cache',
    kind: 'peer',
    frameworks: EXPRESS_ONLY,
    hits: true,
  },
  {
    id: 'express-redis-cache',
    label: 'express-redis-cache',
    short: 'express-redis-cache',
    kind: 'peer',
    frameworks: EXPRESS_ONLY,
    hits: true,
  },
];

export function modeById(id: ModeId): Mode {
  return MODES.find((mode) => mode.id === id)!;
}

export function modesOf(framework: Framework): Mode[] {
  return MODES.filter((mode) => mode.frameworks.includes(framework));
}

/** The path a mode's app answers for a size; `[<id>]` is replaced per request by the load. */
export function pathOf(mode: Mode, sizeId: string): string {
  return `/products/${sizeId}${mode.uniqueUrls ? '?id=[<id>]' : ''}`;
}

/** Seconds entries live: hit modes keep theirs for the whole run. */
export const HIT_TTL = 3600;

/** The tag every miss-mode entry carries: the runner drops them after each miss window. */
export const MISS_TAG = 'bench-miss';
