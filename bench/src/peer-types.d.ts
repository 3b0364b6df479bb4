// The parts of the peer libraries the benchmark uses; none of them ships type declarations.

declare module 'redis' {
  /** node-redis 3, the client apicache is written for (it reads `connected`, uses callbacks). */
  export interface RedisClient {
    connected: boolean;
    on(event: 'error', listener: (err: Error) => void): this;
    quit(callback?: () => void): boolean;
  }
  export function createClient(
    port: number,
    host: string,
    options?: { prefix?: string },
  ): RedisClient;
}

declare module 'apicache' {
  import type { RequestHandler } from 'express';
  import type { RedisClient } from 'redis';

  interface ApiCacheOptions {
    redisClient?: RedisClient;
    defaultDuration?: string;
  }
  interface ApiCacheInstance {
    middleware(duration?: string): RequestHandler;
  }
  interface ApiCache extends ApiCacheInstance {
    newInstance(options: ApiCacheOptions): ApiCacheInstance;
  }
  const apicache: ApiCache;
  export = apicache;
}

declare module 'route-cache' {
  import type { RequestHandler } from 'express';

  interface RouteCache {
    config(options: { cacheStore: object }): RouteCache;
    cacheSeconds(seconds: number): RequestHandler;
  }
  const routeCache: RouteCache;
  export = routeCache;
}

declare module 'route-cache/ioRedisStore.js' {
  import type { Redis } from 'ioredis';

  /** A route-cache store (get, set, del, clear) over an ioredis client. */
  interface IoRedisStore {
    get(key: string): Promise<unknown>;
  }
  const IoRedisStore: new (client: Redis) => IoRedisStore;
  export = IoRedisStore;
}

declare module 'express-redis-cache' {
  import type { EventEmitter } from 'node:events';
  import type { RequestHandler } from 'express';

  interface ExpressRedisCache extends EventEmitter {
    route(options?: { expire?: number }): RequestHandler;
    client: { quit(callback?: () => void): boolean };
  }
  function expressRedisCache(options: {
    host: string;
    port: number;
    prefix?: string;
    expire?: number;
  }): ExpressRedisCache;
  export = expressRedisCache;
}
