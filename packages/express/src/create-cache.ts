import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  capture,
  frameworkCache,
  writeReplay,
  type CacheHandle,
  type Decision,
  type FrameworkCache,
  type HttpCacheOptions,
} from '@restash/core';
import { holdResponse } from './hold-response.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /**
       * The invalidation hook for controllers. Set by `cache.route()`, `cache.invalidateOn()` and
       * `cache.attach()`; typed as always present so a controller that forgot `attach()` fails
       * loudly in development instead of silently skipping an invalidation (`?.`).
       */
      cache: CacheHandle;
    }
  }
}

/** The Express face of a restash cache: middleware whose functions receive `req`. */
export type ExpressCache = FrameworkCache<RequestHandler, Request>;

/**
 * Creates a response cache for Express 4 and 5. A hit is written with `res.end` (stored bytes
 * and headers, no serializer); a miss is captured at `res.end`, whether `res.send` or `res.json`
 * produced it, and judged on the head as written (after middleware such as express-session added
 * their headers); a response that starts with `res.write` is streamed and not stored.
 *
 * @example
 * const cache = createCache({ store: new RedisCacheStore(), ttl: 60 });
 * app.get('/api/products', cache.route({ tags: ['products'] }), listProducts);
 * app.post('/api/products', cache.invalidateOn({ tags: ['products'] }), createProduct);
 */
export function createCache(options: HttpCacheOptions<Request> = {}): ExpressCache {
  return frameworkCache<RequestHandler, Request>(options, {
    route: (route, engine) => (req: Request, res: Response, next: NextFunction) => {
      req.cache = engine.handle;
      // The route Express matched (inside app.get(path, cache.route(), …)): see CacheRequest.
      const matched = req.route as { path?: unknown } | undefined;
      const where = matched && { pattern: req.baseUrl + String(matched.path), params: req.params };
      const apply = (decision: Decision): void => {
        if (decision.kind === 'hit') return void writeReplay(res, decision.response);
        const upstream = res.getHeaders();
        if (decision.xCache) res.setHeader('X-Cache', decision.xCache);
        capture(res, decision, upstream);
        next();
      };
      const request = { method: req.method, url: req.originalUrl, headers: req.headers, node: req };
      const decided = route.lookup({ ...request, route: where }, req);
      // A warm hit is decided at once: answered without waiting for a promise.
      if (!('then' in decided)) return apply(decided);
      decided.then(apply).catch((err: unknown) => {
        engine.report(err);
        if (!res.headersSent) next();
      });
    },
    invalidateOn: (invalidation, engine) => (req: Request, res: Response, next: NextFunction) => {
      req.cache = engine.handle;
      holdResponse(res, () => invalidation(req, res.statusCode), next);
      next();
    },
    attach: (engine) => (req: Request, _res: Response, next: NextFunction) => {
      req.cache = engine.handle;
      next();
    },
  });
}
