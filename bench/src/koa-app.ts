import Router, { type RouterContext } from '@koa/router';
import Koa, { type Middleware } from 'koa';
import { createCache } from '@restash/koa';
import type { Answers } from './ceiling.js';
import type { ModeApp } from './express-app.js';
import { restashLayer, type AppDeps, type Layer } from './layer.js';
import type { ModeId } from './modes.js';

type KoaModeId = Exclude<ModeId, 'apicache' | 'route-cache' | 'express-redis-cache'>;

const LAYERS: Record<KoaModeId, (deps: AppDeps) => Layer<Middleware>> = {
  bare: () => ({ handlers: [], close: async () => undefined }),
  ceiling: (deps) => ({ handlers: [ceiling(deps.ceiling)], close: async () => undefined }),
  local: (deps) => restashLayer(deps, 'local', createCache),
  redis: (deps) => restashLayer(deps, 'redis', createCache),
  miss: (deps) => restashLayer(deps, 'miss', createCache),
};

export function isKoaMode(mode: ModeId): mode is KoaModeId {
  return mode in LAYERS;
}

/** The mode's one route on Koa with @koa/router. */
export function koaApp(mode: KoaModeId, deps: AppDeps): ModeApp {
  const app = new Koa();
  const router = new Router();
  const layer = LAYERS[mode](deps);
  router.get('/products/:size', ...layer.handlers, async (ctx: RouterContext) => {
    const list = await deps.origin.products(ctx.params.size!);
    if (list) ctx.body = list;
  });
  app.use(router.routes());
  return { listener: app.callback(), flush: layer.flush, close: layer.close };
}

/**
 * Answers with the precomputed hit as Koa answers anything: status, headers (set before the body,
 * so Koa keeps the type), the bytes as the body, written by Koa after the chain.
 */
function ceiling(answers: Answers): Middleware {
  return (ctx, next) => {
    const answer = answers.get((ctx as RouterContext).params.size!);
    if (!answer) return next();
    ctx.status = answer.status;
    for (const [name, value] of answer.headers) ctx.res.setHeader(name, value);
    ctx.body = answer.body;
  };
}
