import type { Context, Middleware, Next } from 'koa';
import {
  HttpCache,
  type CacheHandle,
  type CacheStats,
  type HttpCacheOptions,
  type InvalidateOnSpec,
  type InvalidateSpec,
  type RouteOptions,
} from '@restash/core';
import { captureBody, respond } from './respond.js';

declare module 'koa' {
  interface DefaultContext {
    /** Set by `cache.route()`, `cache.invalidateOn()` and `cache.attach()`. */
    cache?: CacheHandle;
  }
}

/** The Koa face of a restash cache. */
export interface KoaCache {
  /** Middleware that answers from the cache or caches what downstream middleware responds. */
  route(options?: RouteOptions<Context>): Middleware;
  /** Middleware that invalidates after a 2xx answer, before the answer is sent. */
  invalidateOn(spec: InvalidateOnSpec<Context>): Middleware;
  /** Middleware that sets `ctx.cache` on every request. */
  attach(): Middleware;
  /** Drops entries by custom key or URL path, tag and user. Never rejects for store trouble. */
  invalidate(spec: InvalidateSpec): Promise<void>;
  stats(): CacheStats;
  /** Closes the store if the cache created it. */
  close(): Promise<void>;
}

/**
 * Creates a response cache for Koa 2 and 3.
 *
 * @example
 * const cache = createCache({ store: new RedisCacheStore(), ttl: 60 });
 * router.get('/api/products', cache.route({ tags: ['products'] }), listProducts);
 * router.post('/api/products', cache.invalidateOn({ tags: ['products'] }), createProduct);
 */
export function createCache(options: HttpCacheOptions<Context> = {}): KoaCache {
  const engine = new HttpCache<Context>(options);
  const { handle } = engine;
  return {
    route(routeOptions = {}) {
      const route = engine.route(routeOptions);
      return async (ctx: Context, next: Next) => {
        ctx.cache = handle;
        const decision = await route.lookup(
          { method: ctx.method, url: ctx.originalUrl, headers: ctx.headers },
          ctx,
        );
        if (decision.kind === 'hit') return respond(ctx, decision.response);
        if (decision.xCache) ctx.set('X-Cache', decision.xCache);
        try {
          await next();
        } catch (err) {
          const stale = decision.fail();
          if (!stale) throw err;
          ctx.app.emit('error', err, ctx);
          return respond(ctx, stale);
        }
        const { removeHeaders, replace } = decision.finish(captureBody(ctx));
        for (const name of removeHeaders) ctx.remove(name);
        if (replace) respond(ctx, replace);
      };
    },
    invalidateOn(spec) {
      const invalidation = engine.invalidation(spec);
      return async (ctx: Context, next: Next) => {
        ctx.cache = handle;
        await next();
        await invalidation(ctx, ctx.status);
      };
    },
    attach() {
      return async (ctx: Context, next: Next) => {
        ctx.cache = handle;
        await next();
      };
    },
    invalidate: (spec) => engine.invalidate(spec),
    stats: () => engine.stats(),
    close: () => engine.close(),
  };
}
