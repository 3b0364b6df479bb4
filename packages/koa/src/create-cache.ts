import type { Context, Middleware, Next } from 'koa';
import {
  frameworkCache,
  type CacheHandle,
  type FrameworkCache,
  type HttpCacheOptions,
} from '@restash/core';
import { applyFinish, captureBody, respond } from './respond.js';

declare module 'koa' {
  interface DefaultContext {
    /**
     * The invalidation hook for controllers. Set by `cache.route()`, `cache.invalidateOn()` and
     * `cache.attach()`; typed as always present so a controller that forgot `attach()` fails
     * loudly in development instead of silently skipping an invalidation (`?.`).
     */
    cache: CacheHandle;
  }
}

/** The Koa face of a restash cache: middleware whose functions receive `ctx`. */
export type KoaCache = FrameworkCache<Middleware, Context>;

/**
 * Creates a response cache for Koa 2 and 3. A hit sets the stored status, headers and bytes and
 * ends the chain; a miss captures `ctx.body` after `await next()` (objects as the JSON Koa would
 * send); streamed bodies are not stored.
 *
 * @example
 * const cache = createCache({ store: new RedisCacheStore(), ttl: 60 });
 * router.get('/api/products', cache.route({ tags: ['products'] }), listProducts);
 * router.post('/api/products', cache.invalidateOn({ tags: ['products'] }), createProduct);
 */
export function createCache(options: HttpCacheOptions<Context> = {}): KoaCache {
  return frameworkCache<Middleware, Context>(options, {
    route: (route, engine) => async (ctx: Context, next: Next) => {
      ctx.cache = engine.handle;
      const decision = await route.lookup(
        { method: ctx.method, url: ctx.originalUrl, headers: ctx.headers },
        ctx,
      );
      if (decision.kind === 'hit') return respond(ctx, decision.response);
      if (decision.xCache) ctx.set('X-Cache', decision.xCache);
      try {
        await next();
      } catch (err) {
        const stale = decision.fail(ctx.response.headers);
        if (!stale) throw err;
        ctx.app.emit('error', err, ctx);
        return applyFinish(ctx, stale);
      }
      applyFinish(ctx, decision.finish(captureBody(ctx)));
    },
    invalidateOn: (invalidation, engine) => async (ctx: Context, next: Next) => {
      ctx.cache = engine.handle;
      await next();
      // Koa sends after the middleware chain settles: this completes before the client hears.
      await invalidation(ctx, ctx.status);
    },
    attach: (engine) => async (ctx: Context, next: Next) => {
      ctx.cache = engine.handle;
      await next();
    },
  });
}
