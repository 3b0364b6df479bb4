export { createCache, type ExpressCache } from './create-cache.js';
export type {
  CacheHandle,
  CacheStats,
  HttpCacheOptions,
  InvalidateOnSpec,
  InvalidateSpec,
  RouteOptions,
} from '@restash/core';
