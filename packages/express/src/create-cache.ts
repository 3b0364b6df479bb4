import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  HttpCache,
  type CacheHandle,
  type CacheStats,
  type HttpCacheOptions,
  type InvalidateOnSpec,
  type InvalidateSpec,
  type RouteOptions,
} from '@restash/core';
import { capture, holdResponse, send } from './capture.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by `cache.route()`, `cache.invalidateOn()` and `cache.attach()`. */
      cache?: CacheHandle;
    }
  }
}

/** The Express face of a restash cache. */
export interface ExpressCache {
  /** Middleware that answers from the cache or caches what the handlers after it send. */
  route(options?: RouteOptions<Request>): RequestHandler;
  /** Middleware that invalidates after a 2xx answer, before the answer reaches the client. */
  invalidateOn(spec: InvalidateOnSpec<Request>): RequestHandler;
  /** Middleware that sets `req.cache` on every request. */
  attach(): RequestHandler;
  /** Drops entries by custom key or URL path, tag and user. Never rejects for store trouble. */
  invalidate(spec: InvalidateSpec): Promise<void>;
  stats(): CacheStats;
  /** Closes the store if the cache created it. */
  close(): Promise<void>;
}

/**
 * Creates a response cache for Express 4 and 5.
 *
 * @example
 * const cache = createCache({ store: new RedisCacheStore(), ttl: 60 });
 * app.get('/api/products', cache.route({ tags: ['products'] }), listProducts);
 * app.post('/api/products', cache.invalidateOn({ tags: ['products'] }), createProduct);
 */
export function createCache(options: HttpCacheOptions<Request> = {}): ExpressCache {
  const engine = new HttpCache<Request>(options);
  const { handle } = engine;
  return {
    route(routeOptions = {}) {
      const route = engine.route(routeOptions);
      return (req: Request, res: Response, next: NextFunction) => {
        req.cache = handle;
        route
          .lookup({ method: req.method, url: req.originalUrl, headers: req.headers }, req)
          .then((decision) => {
            if (decision.kind === 'hit') return void send(res, decision.response);
            if (decision.xCache) res.setHeader('X-Cache', decision.xCache);
            capture(res, decision);
            next();
          })
          .catch((err: unknown) => {
            engine.report(err);
            if (!res.headersSent) next();
          });
      };
    },
    invalidateOn(spec) {
      const invalidation = engine.invalidation(spec);
      return (req: Request, res: Response, next: NextFunction) => {
        req.cache = handle;
        holdResponse(res, () => invalidation(req, res.statusCode));
        next();
      };
    },
    attach() {
      return (req: Request, _res: Response, next: NextFunction) => {
        req.cache = handle;
        next();
      };
    },
    invalidate: (spec) => engine.invalidate(spec),
    stats: () => engine.stats(),
    close: () => engine.close(),
  };
}
