import type { Duration } from '../duration.js';
import { HttpCache, type CacheHandle, type CachedRoute, type Invalidation } from './engine.js';
import type { InvalidateOnSpec } from './invalidate-spec.js';
import type { HttpCacheOptions, RouteOptions } from './options.js';
import type { CacheStats, InvalidateSpec } from './types.js';

/**
 * What an adapter's `createCache` returns: middleware of the framework's type `M`, whose
 * functions (`perUser`, `key`, `tags`, …) receive the framework's request object `C` (Express
 * `req`, Koa `ctx`). Both adapters share this shape, so the API reads the same in both.
 */
export interface FrameworkCache<M, C> {
  /**
   * Middleware that answers from the cache, or caches what the handlers after it send. `T` lets
   * the option functions see a richer request type than the framework's own (a router's context
   * with `params`, a typed `req`): you vouch that requests reaching this middleware are a `T`.
   * A duration alone (`route('5 minutes')`, `route(300)`) is the route's `ttl`.
   */
  route<T extends C = C>(options?: RouteOptions<T> | Duration): M;
  /** Middleware that invalidates after a 2xx answer, before the answer reaches the client. */
  invalidateOn<T extends C = C>(spec: InvalidateOnSpec<T>): M;
  /** Middleware that sets `req.cache` / `ctx.cache` on every request. */
  attach(): M;
  /** Drops entries by custom key or URL path, tag and user. Never rejects for store trouble. */
  invalidate(spec: InvalidateSpec): Promise<void>;
  /**
   * Cache-aside for values (a database query, a remote call) on the cache's store, invalidated by
   * the same tags and keys as the responses (`invalidate({ tags })` drops both). Also on
   * `req.cache` / `ctx.cache`.
   */
  wrap: CacheHandle['wrap'];
  /** Counters since the cache was created. */
  stats(): CacheStats;
  /** Waits for stores in progress and closes the store if the cache created it. */
  close(): Promise<void>;
}

/**
 * How one framework wraps the engine's pieces in middleware. Options are validated before these
 * are called; each middleware sets `engine.handle` as `req.cache` / `ctx.cache`.
 */
export interface MiddlewareFactory<M, C> {
  /** Middleware that looks each request up with `route` and applies the decision. */
  route(route: CachedRoute<C>, engine: HttpCache<C>): M;
  /** Middleware that runs `invalidation` with the final status, before the response is sent. */
  invalidateOn(invalidation: Invalidation<C>, engine: HttpCache<C>): M;
  /** Middleware that only sets `req.cache` / `ctx.cache`. */
  attach(engine: HttpCache<C>): M;
}

/** Builds an adapter's cache: one engine, the framework's middleware around it. */
export function frameworkCache<M, C>(
  options: HttpCacheOptions<C>,
  factory: MiddlewareFactory<M, C>,
): FrameworkCache<M, C> {
  const engine = new HttpCache<C>(options);
  return {
    // The functions in the options only ever receive the framework's request object; `T` is the
    // caller's own, narrower description of it (see FrameworkCache.route).
    route: (routeOptions = {}) =>
      factory.route(engine.route(routeOptions as unknown as RouteOptions<C> | Duration), engine),
    invalidateOn: (spec) =>
      factory.invalidateOn(engine.invalidation(spec as unknown as InvalidateOnSpec<C>), engine),
    attach: () => factory.attach(engine),
    invalidate: (spec) => engine.invalidate(spec),
    wrap: engine.handle.wrap,
    stats: () => engine.stats(),
    close: () => engine.close(),
  };
}
