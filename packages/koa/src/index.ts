export { createCache, type KoaCache } from './create-cache.js';
// Everything an app uses from @restash/core too, so an app that installed only this package has
// the whole API in one import (test/packaging compares the lists).
export {
  CHANNELS,
  EntryTooLargeError,
  LEASE_TTL_MS,
  MemoryCacheStore,
  RedisCacheStore,
  RESILIENT_CLUSTER_DEFAULTS,
  RESILIENT_DEFAULTS,
  StoreClosedError,
} from '@restash/core';
export type {
  CacheEntry,
  CacheHandle,
  CacheStats,
  CacheStore,
  ErrorReporter,
  HttpCacheOptions,
  InvalidateOnSpec,
  InvalidateSpec,
  IoredisClient,
  Lease,
  Lookup,
  LookupStatus,
  MemoryCacheStoreOptions,
  Outcome,
  RedisCacheStoreOptions,
  RouteOptions,
  RouteStats,
  UserId,
} from '@restash/core';
