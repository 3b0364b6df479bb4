export { createCache, type KoaCache } from './create-cache.js';
// The stores too, so an app needs one restash import.
export { MemoryCacheStore, RedisCacheStore, type RedisCacheStoreOptions } from '@restash/core';
export type {
  CacheHandle,
  CacheStore,
  CacheStats,
  HttpCacheOptions,
  InvalidateOnSpec,
  InvalidateSpec,
  RouteOptions,
} from '@restash/core';
