/**
 * The Redis and in-memory cache stores and the framework-neutral HTTP cache engine of restash.
 * Apps import all of it from their adapter, `@restash/express` or `@restash/koa`.
 * @module @restash/core
 */
// What an app uses: the adapters (@restash/express, @restash/koa) re-export all of it, so an app
// needs one restash import (test/packaging checks the lists agree).
export type { CacheEntry, CacheStore, Lease, Lookup, ReadOptions } from './store/types.js';
export { EntryTooLargeError, LEASE_TTL_MS, StoreClosedError } from './store/types.js';
export { MemoryCacheStore, type MemoryCacheStoreOptions } from './store/memory-store.js';
export { RedisCacheStore } from './store/redis/redis-store.js';
export type { StampedeOptions } from './store/stampede.js';
export {
  RESILIENT_CLUSTER_DEFAULTS,
  RESILIENT_DEFAULTS,
  type IoredisClient,
  type RedisCacheStoreOptions,
} from './store/redis/options.js';
export { RESILIENT_SENTINEL_DEFAULTS, type SentinelOptions } from './store/redis/sentinel.js';
export type { ErrorReporter } from './report.js';
export type { InvalidateOnSpec } from './http/invalidate-spec.js';
export type { HttpCacheOptions, RouteOptions, UserId } from './http/options.js';
export type { QueryFilter } from './http/key.js';
export type { CacheStats, InvalidateSpec, RouteStats } from './http/types.js';
export type { CacheHandle } from './http/engine.js';
export { CHANNELS, type LookupStatus, type Outcome } from './http/status.js';
export type { Duration } from './duration.js';
export { createDataCache, DataCache, type DataCacheOptions } from './data/data-cache.js';
export { JSON_CODEC, V8_CODEC, type Codec } from './data/codec.js';
export { WrapTimeoutError, type FetchContext, type WrapOptions } from './data/wrap-options.js';

// What an adapter is built from (the engine and the Node response plumbing); apps need none of it.
export { HttpCache, type CachedRoute, type Invalidation } from './http/engine.js';
export { capture, replayAtWrite, writeReplay, type Capture } from './http/node-response.js';
export {
  frameworkCache,
  type FrameworkCache,
  type MiddlewareFactory,
} from './http/framework-cache.js';
export type {
  CacheRequest,
  CapturedResponse,
  Decision,
  Finish,
  Hit,
  Pass,
  ReplayResponse,
  WrittenHead,
} from './http/types.js';
