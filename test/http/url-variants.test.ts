import Router from '@koa/router';
import express4 from 'express4';
import express5 from 'express5';
import type { Express, Request } from 'express';
import Koa2 from 'koa2';
import Koa3 from 'koa3';
import type Koa from 'koa';
import type { Context } from 'koa';
import { createCache as expressCache } from '@restash/express';
import { createCache as koaCache } from '@restash/koa';
import type { RouteOptions } from '@restash/core';
import { forbidUnhandledRejections, get, storedCount, useEnvironment, type BuiltApp } from './kit';
import { listen, stopServer } from './kit/shared';

// One URL, one entry: the variants a router sends to the same route with the same parameters
// (case, trailing slash, percent-encoding) share an entry and an invalidation, and nothing the
// router would answer differently is ever served another URL's entry. Real routers: Express's
// own and @koa/router, with their default and their strict settings.

const env = useEnvironment();
forbidUnhandledRejections();

interface Settings {
  /** Case-sensitive routing (Express `case sensitive routing`, @koa/router `sensitive`). */
  sensitive?: boolean;
  /** Strict trailing slashes (Express `strict routing`, @koa/router `strict`). */
  strict?: boolean;
  /** Mount the cache before routing (`app.use(cache.route())`) instead of on the route. */
  global?: boolean;
  route?: RouteOptions<never>;
  maxKeyLength?: number;
}

type Build = (settings: Settings) => Promise<BuiltApp>;

/** Answers what a handler reads: the parameter and the parsed query. */
function answer(id: unknown, query: unknown): string {
  return JSON.stringify({ id, query });
}

const builders: [string, Build][] = [
  ...(
    [
      ['express4', express4],
      ['express5', express5],
    ] as [string, unknown][]
  ).map(([name, factory]): [string, Build] => [
    name,
    async (settings) => {
      const app = (factory as () => Express)();
      if (settings.sensitive) app.set('case sensitive routing', true);
      if (settings.strict) app.set('strict routing', true);
      const cache = expressCache({
        store: env.store('redis', { tracking: false }),
        statuses: [200, 404],
        maxKeyLength: settings.maxKeyLength,
      });
      const route = cache.route(settings.route as RouteOptions<Request>);
      if (settings.global) app.use(route);
      const handlers = settings.global ? [] : [route];
      app.get(
        '/api/p/:id',
        ...handlers,
        (req, res) => void res.send(answer(req.params.id, req.query)),
      );
      return built(app, await listen(app), cache);
    },
  ]),
  ...(
    [
      ['koa2', Koa2],
      ['koa3', Koa3],
    ] as [string, unknown][]
  ).map(([name, KoaClass]): [string, Build] => [
    name,
    async (settings) => {
      const app = new (KoaClass as typeof Koa)();
      app.silent = true;
      const cache = koaCache({
        store: env.store('redis', { tracking: false }),
        statuses: [200, 404],
        maxKeyLength: settings.maxKeyLength,
      });
      const route = cache.route(settings.route as RouteOptions<Context>);
      const router = new Router({ sensitive: settings.sensitive, strict: settings.strict });
      if (settings.global) app.use(route);
      const handlers = settings.global ? [] : [route];
      router.get('/api/p/:id', ...handlers, (ctx) => {
        ctx.body = answer(ctx.params.id, ctx.query);
      });
      app.use(router.routes());
      return built(app, await listen(app.callback()), cache);
    },
  ]),
];

function built(
  native: unknown,
  server: BuiltApp['server'],
  cache: {
    invalidate: BuiltApp['cache']['invalidate'];
    stats(): ReturnType<BuiltApp['cache']['stats']>;
    close(): Promise<void>;
  },
): BuiltApp {
  const app: BuiltApp = {
    server,
    cache,
    native,
    async close() {
      await stopServer(server);
      await cache.close();
    },
  };
  opened.push(app);
  return app;
}

const opened: BuiltApp[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((app) => app.close()));
});

const xCache = async (app: BuiltApp, path: string): Promise<string | undefined> =>
  (await get(app, path)).headers['x-cache'];

describe.each(builders)('%s', (_name, build) => {
  test('the variants the router takes for one route and parameter share one entry and one invalidation', async () => {
    const app = await build({});
    const variants = ['/api/p/7/', '/API/p/7', '/api/p/%37', '/Api/P/%37/'];
    const miss = await get(app, '/api/p/7');
    await storedCount(app, 1);
    for (const path of variants) {
      const hit = await get(app, path);
      expect([path, hit.headers['x-cache']]).toEqual([path, 'HIT']);
      expect(hit.text).toBe(miss.text);
    }
    await app.cache.invalidate({ keys: ['/API/p/7/'] });
    expect(await xCache(app, '/api/p/%37')).toBe('MISS');
  });

  test('parameters keep their case: /api/p/ABC and /api/p/abc are two resources', async () => {
    const app = await build({});
    expect(JSON.parse((await get(app, '/api/p/ABC')).text).id).toBe('ABC');
    await storedCount(app, 1);
    const lower = await get(app, '/api/p/abc');
    expect(lower.headers['x-cache']).toBe('MISS');
    expect(JSON.parse(lower.text).id).toBe('abc');
  });

  test.each([
    ['case-sensitive', { sensitive: true }, '/API/p/7'],
    ['strict', { strict: true }, '/api/p/7/'],
  ])(
    'with %s routing, a variant the router does not take is not served the entry',
    async (_what, settings, variant) => {
      const app = await build({ ...settings, global: true });
      await get(app, '/api/p/7');
      await storedCount(app, 1);
      const other = await get(app, variant);
      expect(other.status).toBe(404);
      expect(other.headers['x-cache']).toBe('MISS');
    },
  );

  test('before routing, paths are keyed as received (dot segments too), and invalidated together', async () => {
    const app = await build({ global: true });
    await get(app, '/api/p/7');
    await get(app, '/api/p/7/');
    await storedCount(app, 2);
    const dotted = await get(app, '/api/p/../p/7');
    expect(dotted.headers['x-cache']).toBe('MISS');
    await app.cache.invalidate({ keys: ['/api/p/7'] });
    expect(await xCache(app, '/api/p/7')).toBe('MISS');
    expect(await xCache(app, '/api/p/7/')).toBe('MISS');
  });

  test('queries share an entry only when every common parser reads them alike', async () => {
    const app = await build({});
    await get(app, '/api/p/1?a=%31&b=two+words');
    await storedCount(app, 1);
    expect(await xCache(app, '/api/p/1?b=two%20words&a=1')).toBe('HIT');
    await get(app, '/api/p/1?a=1&a=2');
    await storedCount(app, 2);
    expect(await xCache(app, '/api/p/1?a=2&a=1')).toBe('MISS');
    expect(await xCache(app, '/api/p/1?a=1%26b=two+words')).toBe('MISS');
  });

  test('query: only the named parameters make the key, so junk cannot multiply entries', async () => {
    const app = await build({ route: { query: ['page'] } });
    await get(app, '/api/p/1?page=2&utm_source=a');
    await storedCount(app, 1);
    for (let i = 0; i < 20; i++) {
      expect(await xCache(app, `/api/p/1?utm_source=${i}&page=2&junk${i}=x`)).toBe('HIT');
    }
    expect(await xCache(app, '/api/p/1?page=3')).toBe('MISS');
    const keys = await env.redis().admin().dbsize();
    await get(app, '/api/p/1?page=2&more=junk');
    expect(await env.redis().admin().dbsize()).toBe(keys);
  });

  test('maxKeyLength: a request whose key is longer bypasses instead of adding an entry', async () => {
    const app = await build({ maxKeyLength: 300 });
    const long = `/api/p/1?q=${'x'.repeat(400)}`;
    expect(await xCache(app, long)).toBe('BYPASS');
    expect(await xCache(app, long)).toBe('BYPASS');
    expect(await xCache(app, '/api/p/1?q=short')).toBe('MISS');
  });
});
