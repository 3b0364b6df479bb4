import type { Context, Middleware, Next } from 'koa';
import {
  capture,
  frameworkCache,
  type CacheHandle,
  type FrameworkCache,
  type HttpCacheOptions,
} from '@restash/core';
import { respond } from './respond.js';

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
 * Creates a response cache for Koa 2 and 3. A hit ends the chain and answers with the stored
 * status, headers and bytes; a miss is captured as Koa writes it, after the whole middleware chain
 * (objects as the JSON Koa sends, cookies koa-session set after `await next()` included), and
 * nothing in `ctx` is changed for middleware upstream; streamed bodies are not stored.
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
      // The route @koa/router matched, if it did: see CacheRequest.
      const { _matchedRoute: pattern, params = {} } = ctx as {
        _matchedRoute?: unknown;
        params?: Record<string, unknown>;
      };
      const matched = pattern === undefined ? undefined : { pattern: String(pattern), params };
      const request = {
        method: ctx.method,
        url: ctx.originalUrl,
        headers: ctx.headers,
        node: ctx.req,
      };
      const decided = route.lookup({ ...request, route: matched }, ctx);
      // A warm hit is decided at once: no await, no microtask.
      const decision = 'then' in decided ? await decided : decided;
      if (decision.kind === 'hit') return respond(ctx, decision.response);
      const upstream = ctx.res.getHeaders();
      if (decision.xCache) ctx.set('X-Cache', decision.xCache);
      // Watched where Koa writes it: after the whole chain, upstream middleware included.
      const watch = capture(ctx.res, decision, upstream);
      try {
        await next();
      } catch (err) {
        const stale = decision.fail(ctx.response.headers);
        watch.failed(stale);
        if (!stale?.replace) throw err;
        ctx.app.emit('error', err, ctx);
        ctx.status = stale.replace.status;
        ctx.body = stale.replace.body ?? null;
      }
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
