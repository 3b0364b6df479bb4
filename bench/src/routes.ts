import type { RequestListener } from 'node:http';
import { MemoryCacheStore, RedisCacheStore, type CacheStats, type CacheStore } from '@restash/core';

// What the server under test exposes. The same paths in both frameworks:
//   /hello               zero work (the framework's ceiling)
//   /uncached/products   the product list, built every time
//   /<store>/products    the same handler behind cache.route(), one path per store
//   /__stats             each cache's counters, for the runner (not benchmarked)

/** The stores the cached cases run on, by the name used in their path. */
export type StoreName = 'redis' | 'tracked' | 'memory';

export const STORE_NAMES: readonly StoreName[] = ['redis', 'tracked', 'memory'];

/** Entries outlive the run: every measured request on a cached route should be a hit. */
export const TTL = 3600;

/** The stores, each under its own key prefix so the cases never share an entry. */
export function createStores(redisPort: number, prefix: string): Record<StoreName, CacheStore> {
  const clientOpts = (name: string) => ({
    host: '127.0.0.1',
    port: redisPort,
    keyPrefix: `${prefix}:${name}:`,
  });
  return {
    // Tracking off: every hit is one EVALSHA round trip to Redis.
    redis: new RedisCacheStore({ clientOpts: clientOpts('redis'), tracking: false }),
    // Tracking on (the default): warm hits come from the local tier, kept coherent by Redis.
    tracked: new RedisCacheStore({ clientOpts: clientOpts('tracked'), tracking: true }),
    memory: new MemoryCacheStore(),
  };
}

/** A running app under test. */
export interface BenchApp {
  listener: RequestListener;
  stats(): Record<StoreName, CacheStats>;
  close(): Promise<void>;
}
