import { RedisCacheStore, type FrameworkCache, type HttpCacheOptions } from '@restash/core';
import type { Answers } from './ceiling.js';
import { HIT_TTL, MISS_TAG, type Framework } from './modes.js';
import type { Origin } from './origin.js';

/** What a mode's app gets from the server process. */
export interface AppDeps {
  framework: Framework;
  redisPort: number;
  origin: Origin;
  ceiling: Answers;
}

/** The middleware a mode puts before the route's handler, and how to tidy it up. */
export interface Layer<H> {
  handlers: H[];
  /** Drops what the mode stored (the miss mode's entries, between windows). */
  flush?(): Promise<void>;
  close(): Promise<void>;
}

export type RestashMode = 'local' | 'redis' | 'miss';

/**
 * restash in front of the route, on a RedisCacheStore of its own (its own connections and key
 * prefix): the local tier (tracking on, the default), the Redis tier (tracking off: every hit is a
 * round trip), or the default store for the miss mode, whose entries are tagged for flushing.
 */
export function restashLayer<H, C>(
  deps: AppDeps,
  mode: RestashMode,
  createCache: (options: HttpCacheOptions<C>) => FrameworkCache<H, C>,
): Layer<H> {
  const store = new RedisCacheStore({
    clientOpts: {
      host: '127.0.0.1',
      port: deps.redisPort,
      keyPrefix: `${deps.framework}:${mode}:`,
    },
    tracking: mode !== 'redis',
  });
  const cache = createCache({ store, ttl: HIT_TTL });
  return {
    handlers: [cache.route(mode === 'miss' ? { tags: [MISS_TAG] } : {})],
    flush: () => cache.invalidate({ tags: [MISS_TAG] }),
    close: async () => {
      await cache.close();
      await store.close();
    },
  };
}
