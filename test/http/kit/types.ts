import type http from 'node:http';
import type {
  CacheHandle,
  CacheStats,
  HttpCacheOptions,
  InvalidateOnSpec,
  InvalidateSpec,
  RouteOptions,
} from '@restash/core';

// The neutral description of a test app. Each framework kit builds a real app from it, so one
// behaviour suite runs unchanged against every adapter.

/** What a route's functions (perUser, key, tags, handler) see of a request, in any framework. */
export interface View {
  header(name: string): string | undefined;
  /** A route parameter (`/items/:id`). */
  param(name: string): string | undefined;
  readonly method: string;
  /** Path and query as received. */
  readonly url: string;
  /** `req.cache` (Express) or `ctx.cache` (Koa). */
  readonly cache: CacheHandle | undefined;
  /** The framework's own object: Express `req`, Koa `ctx`. */
  readonly native: object;
  /** The session the `session` upstream middleware loaded (`req.session`, `ctx.session`). */
  session(): Record<string, unknown> | undefined;
}

/**
 * Real middleware mounted before the routes, in this order, as apps combine them with a cache:
 * `session` (express-session / koa-session, a cookie for every new visitor whose session is
 * written), `envelope` (wraps JSON bodies in `{ ok, data }`: Express by overriding `res.json`,
 * Koa after `await next()`), `cors` (cors / @koa/cors), `compression` (Express only) and `trace`
 * (sets `X-Trace-Id` and `traceparent` per request before the route).
 */
export type Upstream = 'session' | 'envelope' | 'cors' | 'compression' | 'trace';

/** What a handler answers; exactly one body field (or none for an empty body). */
export interface Reply {
  status?: number;
  headers?: Record<string, string | string[]>;
  /** Express `res.json(value)`, Koa `ctx.body = value`. */
  json?: unknown;
  /** Express `res.send(string)`, Koa `ctx.body = string`. */
  text?: string;
  /** Express `res.send(buffer)`, Koa `ctx.body = buffer`. */
  buffer?: Buffer;
  /** Express `res.write` per chunk then `res.end()`, Koa `ctx.body = Readable.from(chunks)`. */
  stream?: string[];
  /** The handler fails: Express `next(err)`, Koa `throw`. */
  throws?: boolean;
  /**
   * Answer 304 when the request's If-None-Match matches the body's ETag, as the framework does it:
   * Express on every `res.send`; Koa where conditional-get/etag middleware runs downstream.
   */
  conditional?: boolean;
}

export interface RouteSpec {
  method?: 'get' | 'post' | 'put' | 'delete';
  /** Literal segments and `:name` parameters. */
  path: string;
  /** `cache.route(options)` in front of the handler (a duration alone is the `ttl`). */
  cache?: RouteOptions<View> | string | number;
  /** `cache.invalidateOn(spec)` in front of the handler (and of `cache`). */
  invalidateOn?: InvalidateOnSpec<View>;
  handler(view: View): Reply | Promise<Reply>;
}

export interface AppSpec {
  cache?: HttpCacheOptions<View>;
  /** Middleware before everything else (see {@link Upstream}). */
  upstream?: Upstream[];
  /** `app.use(cache.attach())` before the routes. */
  attach?: boolean;
  routes: RouteSpec[];
}

/** The framework-neutral face of `createCache`'s result. */
export interface NeutralCache {
  invalidate(spec: InvalidateSpec): Promise<void>;
  stats(): CacheStats;
  close(): Promise<void>;
}

export interface BuiltApp {
  /** Listening on 127.0.0.1 (pass it to supertest). */
  server: http.Server;
  cache: NeutralCache;
  /** The Express app or Koa application, for framework-specific tests. */
  native: unknown;
  /** Stops the server and closes the cache (not the store). */
  close(): Promise<void>;
}

export interface Kit {
  /** `express4`, `express5`, `koa2`, `koa3`. */
  name: string;
  framework: 'express' | 'koa';
  build(spec: AppSpec): Promise<BuiltApp>;
  /** `createCache` with neutral options, for option-validation tests. */
  createCache(options?: HttpCacheOptions<View>): {
    route(options?: RouteOptions<View> | string | number): unknown;
    invalidateOn(spec: InvalidateOnSpec<View>): unknown;
    close(): Promise<void>;
  };
}
