import type { RequestListener } from 'node:http';
import express, { type RequestHandler } from 'express';
import { createCache } from '@restash/express';
import type { Answers } from './ceiling.js';
import { restashLayer, type AppDeps, type Layer } from './layer.js';
import type { ModeId } from './modes.js';
import { apicacheLayer, expressRedisCacheLayer, routeCacheLayer } from './peers.js';

/** A mode's app, ready to be served. */
export interface ModeApp {
  listener: RequestListener;
  flush?(): Promise<void>;
  close(): Promise<void>;
}

const LAYERS: Record<ModeId, (deps: AppDeps) => Layer<RequestHandler>> = {
  bare: () => ({ handlers: [], close: async () => undefined }),
  ceiling: (deps) => ({ handlers: [ceiling(deps.ceiling)], close: async () => undefined }),
  local: (deps) => restashLayer(deps, 'local', createCache),
  redis: (deps) => restashLayer(deps, 'redis', createCache),
  miss: (deps) => restashLayer(deps, 'miss', createCache),
  apicache: apicacheLayer,
  'route-cache': routeCacheLayer,
  'express-redis-cache': expressRedisCacheLayer,
};

/** The mode's one route on Express, with Express's defaults (ETag on res.json included). */
export function expressApp(mode: ModeId, deps: AppDeps): ModeApp {
  const app = express();
  const layer = LAYERS[mode](deps);
  app.get('/products/:size', ...layer.handlers, async (req, res) => {
    const list = await deps.origin.products(String(req.params.size));
    if (list) res.json(list);
    else res.status(404).end();
  });
  return { listener: app, flush: layer.flush, close: layer.close };
}

/** Writes the precomputed hit as restash writes one (status, setHeader each, end with bytes). */
function ceiling(answers: Answers): RequestHandler {
  return (req, res, next) => {
    const answer = answers.get(String(req.params.size));
    if (!answer) return next();
    res.statusCode = answer.status;
    for (const [name, value] of answer.headers) res.setHeader(name, value);
    res.end(answer.body);
  };
}
