export type { CacheEntry, CacheStore, Lease, Lookup } from './store/types.js';
export { EntryTooLargeError, LEASE_TTL_MS, StoreClosedError } from './store/types.js';
export { MemoryCacheStore, type MemoryCacheStoreOptions } from './store/memory-store.js';
export { RedisCacheStore } from './store/redis/redis-store.js';
export {
  RESILIENT_CLUSTER_DEFAULTS,
  RESILIENT_DEFAULTS,
  type IoredisClient,
  type RedisCacheStoreOptions,
} from './store/redis/options.js';
export type { ErrorReporter } from './report.js';
export { HttpCache, type CacheHandle, type CachedRoute, type Invalidation } from './http/engine.js';
export { capture, replayAtWrite, writeReplay, type Capture } from './http/node-response.js';
export { CHANNELS, type LookupStatus, type Outcome } from './http/status.js';
export {
  frameworkCache,
  type FrameworkCache,
  type MiddlewareFactory,
} from './http/framework-cache.js';
export type { HttpCacheOptions, InvalidateOnSpec, RouteOptions, UserId } from './http/options.js';
export type {
  CacheRequest,
  CacheStats,
  RouteStats,
  CapturedResponse,
  Decision,
  Finish,
  Hit,
  InvalidateSpec,
  Pass,
  ReplayResponse,
  WrittenHead,
} from './http/types.js';
