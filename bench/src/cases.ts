import type { StoreName } from './routes.js';

/** One measured case of the benchmark. */
export interface Case {
  id: 'a' | 'b' | 'c' | 'd' | 'e';
  label: string;
  path: string;
  /** The store of a cached case. */
  store?: StoreName;
  /** Count Redis commands per hit (the Redis-backed cases). */
  countRedis?: boolean;
}

/** In table order; (a) is the baseline the ratios divide by. */
export const CASES: readonly Case[] = [
  { id: 'a', label: 'uncached route', path: '/uncached/products' },
  {
    id: 'b',
    label: 'cached: RedisCacheStore, tracking off',
    path: '/redis/products',
    store: 'redis',
    countRedis: true,
  },
  {
    id: 'c',
    label: 'cached: RedisCacheStore, tracking on',
    path: '/tracked/products',
    store: 'tracked',
    countRedis: true,
  },
  { id: 'd', label: 'cached: MemoryCacheStore', path: '/memory/products', store: 'memory' },
  { id: 'e', label: 'hello world (ceiling)', path: '/hello' },
];

export const FRAMEWORKS = ['express', 'koa'] as const;
export type Framework = (typeof FRAMEWORKS)[number];
