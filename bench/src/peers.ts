import type { RequestHandler } from 'express';
import apicache from 'apicache';
import expressRedisCache from 'express-redis-cache';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import routeCache from 'route-cache';
import IoRedisStore from 'route-cache/ioRedisStore.js';
import type { AppDeps, Layer } from './layer.js';
import { HIT_TTL } from './modes.js';

// Other Express caching middleware, each on its own connection to the same redis-server, set up
// as their READMEs show. None of them supports Koa. Each gets a key prefix: they all key by URL,
// and every mode's app answers the same paths.

/** apicache with a node-redis client: every hit is an HGETALL, the response parsed from JSON. */
export function apicacheLayer(deps: AppDeps): Layer<RequestHandler> {
  const client = createClient(deps.redisPort, '127.0.0.1', { prefix: 'apicache:' });
  client.on('error', (err) => console.error('apicache redis client:', err));
  const cache = apicache.newInstance({ redisClient: client });
  return {
    handlers: [cache.middleware(`${HIT_TTL} seconds`)],
    close: () => new Promise((resolve) => void client.quit(() => resolve())),
  };
}

/**
 * route-cache with its ioredis store. Its cache is configured per process (the last `config`
 * wins), which is fine here: one app uses it.
 */
export function routeCacheLayer(deps: AppDeps): Layer<RequestHandler> {
  const client = new Redis({ host: '127.0.0.1', port: deps.redisPort, keyPrefix: 'route-cache:' });
  routeCache.config({ cacheStore: new IoRedisStore(client) });
  return {
    handlers: [routeCache.cacheSeconds(HIT_TTL)],
    close: async () => {
      await client.quit();
    },
  };
}

/** express-redis-cache with the client it creates itself (node-redis 2). */
export function expressRedisCacheLayer(deps: AppDeps): Layer<RequestHandler> {
  const cache = expressRedisCache({ host: '127.0.0.1', port: deps.redisPort, expire: HIT_TTL });
  cache.on('error', (err: unknown) => console.error('express-redis-cache:', err));
  return {
    handlers: [cache.route()],
    close: () => new Promise((resolve) => void cache.client.quit(() => resolve())),
  };
}
