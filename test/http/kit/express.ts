import express4 from 'express4';
import express5 from 'express5';
import { randomUUID } from 'node:crypto';
import compression from 'compression';
import cors from 'cors';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import session from 'express-session';
import { createCache } from '@restash/express';
import { cacheOptions, invalidateOnSpec, listen, routeOptions, stopServer } from './shared';
import type { AppSpec, BuiltApp, Kit, Reply, RouteSpec, Upstream, View } from './types';

type ExpressFactory = typeof import('express');

function view(req: Request): View {
  return {
    header: (name) => req.get(name),
    param: (name) => (req.params as Record<string, string | undefined>)[name],
    method: req.method,
    url: req.originalUrl,
    cache: req.cache,
    native: req,
    session: () => (req as unknown as { session?: Record<string, unknown> }).session,
  };
}

const UPSTREAM: Record<Upstream, () => RequestHandler> = {
  session: () => session({ secret: 'kit', resave: false, saveUninitialized: false }),
  envelope: () => (_req, res, next) => {
    const json = res.json.bind(res);
    res.json = (body: unknown) => json({ ok: true, data: body });
    next();
  },
  cors: () => cors({ origin: true }),
  compression: () => compression({ threshold: 0 }),
  trace: () => (_req, res, next) => {
    res.setHeader('X-Trace-Id', randomUUID());
    res.setHeader('traceparent', `00-${randomUUID().replace(/-/g, '')}-00f067aa0ba902b7-01`);
    next();
  },
};

function write(res: Response, reply: Reply): void {
  if (reply.throws) throw new Error('handler failed');
  res.status(reply.status ?? 200);
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  // Express itself answers conditional requests (ETag + fresh check) on every res.send.
  if (reply.json !== undefined) res.json(reply.json);
  else if (reply.text !== undefined) res.send(reply.text);
  else if (reply.buffer !== undefined) res.send(reply.buffer);
  else if (reply.stream !== undefined) {
    for (const chunk of reply.stream) res.write(chunk);
    res.end();
  } else res.end();
}

function handler(route: RouteSpec): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    Promise.resolve()
      .then(() => route.handler(view(req)))
      .then((reply) => write(res, reply))
      .catch(next);
  };
}

function kit(name: string, factory: ExpressFactory): Kit {
  const makeCache = (options: AppSpec['cache']) => createCache(cacheOptions(options, view));
  return {
    name,
    framework: 'express',
    createCache(options) {
      const cache = makeCache(options);
      return {
        route: (o) => cache.route(routeOptions(o, view)),
        invalidateOn: (s) => cache.invalidateOn(invalidateOnSpec(s, view)),
        close: () => cache.close(),
      };
    },
    async build(spec: AppSpec): Promise<BuiltApp> {
      const app = factory();
      const cache = makeCache(spec.cache);
      for (const name of spec.upstream ?? []) app.use(UPSTREAM[name]());
      if (spec.attach) app.use(cache.attach());
      for (const route of spec.routes) {
        const chain: RequestHandler[] = [];
        if (route.invalidateOn)
          chain.push(cache.invalidateOn(invalidateOnSpec(route.invalidateOn, view)));
        if (route.cache) chain.push(cache.route(routeOptions(route.cache, view)));
        app[route.method ?? 'get'](route.path, ...chain, handler(route));
      }
      const server = await listen(app);
      return {
        server,
        cache,
        native: app,
        async close() {
          await stopServer(server);
          await cache.close();
        },
      };
    },
  };
}

export const express4Kit = kit('express4', express4 as unknown as ExpressFactory);
export const express5Kit = kit('express5', express5 as unknown as ExpressFactory);
