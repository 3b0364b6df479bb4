import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import koaCors from '@koa/cors';
import koaSession from 'koa-session';
import Koa2 from 'koa2';
import Koa3 from 'koa3';
import type { Context, Middleware, Next } from 'koa';
import { createCache } from '@restash/koa';
import {
  cacheOptions,
  etagOf,
  invalidateOnSpec,
  listen,
  matchPath,
  routeOptions,
  stopServer,
} from './shared';
import type { AppSpec, BuiltApp, Kit, Reply, RouteSpec, Upstream, View } from './types';

type KoaClass = typeof import('koa');

function view(ctx: Context): View {
  const params = (ctx.state.params ?? {}) as Record<string, string | undefined>;
  return {
    header: (name) => ctx.get(name) || undefined,
    param: (name) => params[name],
    method: ctx.method,
    url: ctx.originalUrl,
    cache: ctx.cache,
    native: ctx,
    session: () => (ctx as { session?: Record<string, unknown> | null }).session ?? undefined,
  };
}

type KoaApp = { keys?: unknown };

const UPSTREAM: Record<Upstream, (app: KoaApp) => Middleware> = {
  session: (app) => {
    app.keys = ['kit'];
    return koaSession({}, app as never) as unknown as Middleware;
  },
  envelope: () => async (ctx, next) => {
    await next();
    if (ctx.status < 300 && ctx.body !== undefined && ctx.body !== null) {
      ctx.body = { ok: true, data: ctx.body as unknown };
    }
  },
  cors: () => koaCors({ origin: (ctx: Context) => ctx.get('Origin') }) as unknown as Middleware,
  compression: () => {
    throw new Error('the koa kit has no compression upstream');
  },
  trace: () => async (ctx, next) => {
    ctx.set('X-Trace-Id', randomUUID());
    ctx.set('traceparent', `00-${randomUUID().replace(/-/g, '')}-00f067aa0ba902b7-01`);
    await next();
  },
};

function write(ctx: Context, reply: Reply): void {
  if (reply.throws) throw new Error('handler failed');
  ctx.status = reply.status ?? 200;
  for (const [name, value] of Object.entries(reply.headers ?? {})) ctx.set(name, value);
  if (reply.json !== undefined) ctx.body = reply.json;
  else if (reply.text !== undefined) ctx.body = reply.text;
  else if (reply.buffer !== undefined) ctx.body = reply.buffer;
  else if (reply.stream !== undefined) ctx.body = Readable.from(reply.stream);
  if (reply.conditional) {
    // What koa-etag + koa-conditional-get would do downstream of the cache.
    const body =
      reply.json !== undefined ? JSON.stringify(reply.json) : (reply.text ?? reply.buffer);
    if (body !== undefined) ctx.etag = etagOf(Buffer.from(body));
    if (ctx.fresh) ctx.status = 304;
  }
}

/** Runs `chain` for one route as a small router would: unmatched requests fall through. */
function mount(route: RouteSpec, chain: Middleware[]): Middleware {
  const method = (route.method ?? 'get').toUpperCase();
  return async (ctx: Context, next: Next) => {
    const methodMatches = ctx.method === method || (method === 'GET' && ctx.method === 'HEAD');
    const params = methodMatches ? matchPath(route.path, ctx.path) : undefined;
    if (!params) return next();
    ctx.state.params = params;
    const run = async (i: number): Promise<void> => {
      const middleware = chain[i];
      if (middleware) await middleware(ctx, () => run(i + 1));
    };
    await run(0);
  };
}

function kit(name: string, Koa: KoaClass): Kit {
  const makeCache = (options: AppSpec['cache']) => createCache(cacheOptions(options, view));
  return {
    name,
    framework: 'koa',
    createCache(options) {
      const cache = makeCache(options);
      return {
        route: (o) => cache.route(routeOptions(o, view)),
        invalidateOn: (s) => cache.invalidateOn(invalidateOnSpec(s, view)),
        close: () => cache.close(),
      };
    },
    async build(spec: AppSpec): Promise<BuiltApp> {
      const app = new Koa();
      app.silent = true;
      const cache = makeCache(spec.cache);
      for (const name of spec.upstream ?? []) app.use(UPSTREAM[name](app));
      if (spec.attach) app.use(cache.attach());
      for (const route of spec.routes) {
        const chain: Middleware[] = [];
        if (route.invalidateOn)
          chain.push(cache.invalidateOn(invalidateOnSpec(route.invalidateOn, view)));
        if (route.cache) chain.push(cache.route(routeOptions(route.cache, view)));
        chain.push(async (ctx) => write(ctx, await route.handler(view(ctx))));
        app.use(mount(route, chain));
      }
      const server = await listen(app.callback());
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

export const koa2Kit = kit('koa2', Koa2 as unknown as KoaClass);
export const koa3Kit = kit('koa3', Koa3 as unknown as KoaClass);
