export * from './catalogue.js';
export {
  chooseStore,
  checkRedis,
  redisOptionsFromUrl,
  safeUrl,
  type ChosenStore,
} from './store.js';
export { serve, type ServedApp, type ServedExample } from './serve.js';
export { closeOnSignals, failStart, intFromEnv, listen, stopServer } from './lifecycle.js';
export { cacheMetrics, type CacheMetrics, type CacheMetricsOptions } from './metrics.js';
