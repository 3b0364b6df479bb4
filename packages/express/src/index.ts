/**
 * Redis-backed HTTP response caching for Express 4 and 5; it re-exports the app API of
 * `@restash/core`, so an app needs no other restash import.
 * @module @restash/express
 */
export { createCache, type ExpressCache } from './create-cache.js';
// Everything an app uses from @restash/core too, so an app that installed only this package has
// the whole API in one import (test/packaging compares the lists).
export {
  CHANNELS,
  createDataCache,
  DataCache,
  EntryTooLargeError,
  JSON_CODEC,
  LEASE_TTL_MS,
  MemoryCacheStore,
  RedisCacheStore,
  RESILIENT_CLUSTER_DEFAULTS,
  RESILIENT_DEFAULTS,
  RESILIENT_SENTINEL_DEFAULTS,
  StoreClosedError,
  V8_CODEC,
  WrapTimeoutError,
} from '@restash/core';
export type {
  CacheEntry,
  CacheHandle,
  CacheStats,
  CacheStore,
  Codec,
  DataCacheOptions,
  Duration,
  ErrorReporter,
  FetchContext,
  HttpCacheOptions,
  InvalidateOnSpec,
  InvalidateSpec,
  IoredisClient,
  Lease,
  Lookup,
  LookupStatus,
  MemoryCacheStoreOptions,
  Outcome,
  QueryFilter,
  ReadOptions,
  RedisCacheStoreOptions,
  RouteOptions,
  RouteStats,
  SentinelOptions,
  StampedeOptions,
  UserId,
  WrapOptions,
} from '@restash/core';
