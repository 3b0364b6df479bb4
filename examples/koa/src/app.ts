import Koa, { type Context, type Next } from 'koa';
import Router, { type RouterContext } from '@koa/router';
import type { CacheStore } from '@restash/core';
import { createCache, type KoaCache } from '@restash/koa';
import {
  cacheMetrics,
  Catalogue,
  parseProductInput,
  positiveInt,
  productTag,
} from '@restash/example-shared';

/** Options of {@link createApp}. */
export interface AppOptions {
  /** Where cached responses live. Default: an in-memory store that `close()` closes. */
  store?: CacheStore;
  /** Milliseconds every database call takes. Default 5. */
  dbLatencyMs?: number;
  /**
   * Serve Prometheus metrics on `/metrics`. Default true. Their counters are process-wide, so
   * of several apps in one process at most one should.
   */
  metrics?: boolean;
  /** Hears errors the cache absorbed (the request was served by the handler). */
  onError?: (err: unknown) => void;
}

/** The example app and what a test or a server needs to reach or close. */
export interface CatalogueApp {
  app: Koa;
  cache: KoaCache;
  catalogue: Catalogue;
  /** Closes the cache (and its in-memory store); a `store` you passed stays open. */
  close(): Promise<void>;
}

const PAGE_SIZE = 5;
const MAX_BODY = 64 * 1024;

/** The product catalogue API, its reads cached by restash. */
export function createApp(options: AppOptions = {}): CatalogueApp {
  const catalogue = new Catalogue(options.dbLatencyMs);
  const cache = createCache({
    ttl: 60,
    ...(options.store ? { store: options.store } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  });
  const metrics = options.metrics === false ? undefined : cacheMetrics({ caches: [cache] });
  const app = new Koa();
  const router = new Router();
  if (metrics) {
    router.get('/metrics', async (ctx) => {
      const { contentType, body } = await metrics.scrape();
      ctx.body = body;
      ctx.type = contentType;
    });
  }
  app.use(authenticate);
  // ctx.cache on every request, for controllers that invalidate by hand (PUT below).
  app.use(cache.attach());

  // Lists: one entry per URL (?category= and ?page= are part of the key), all tagged 'products'.
  router.get('/api/products', cache.route({ ttl: 300, tags: ['products'] }), async (ctx) => {
    const page = ctx.query.page === undefined ? 1 : positiveInt(ctx.query.page);
    const { category } = ctx.query;
    if (page === undefined || (category !== undefined && typeof category !== 'string')) {
      ctx.status = 400;
      ctx.body = { error: 'page must be a positive integer, category a string' };
      return;
    }
    const result = await catalogue.list({ category, page, pageSize: PAGE_SIZE });
    ctx.body = { ...result, servedAt: new Date().toISOString() };
  });

  // Details: tagged per product, so a write to one product leaves the others cached.
  router.get(
    '/api/products/:id',
    cache.route<RouterContext>({ ttl: 300, tags: (ctx) => [productTag(ctx.params.id)] }),
    async (ctx) => {
      const id = positiveInt(ctx.params.id);
      const product = id === undefined ? undefined : await catalogue.get(id);
      // A 404 is not stored (default statuses: [200]): the product may be created next second.
      if (!product) return notFound(ctx);
      ctx.body = { ...product, servedAt: new Date().toISOString() };
    },
  );

  // Per user: each user gets an entry of their own, tagged `user:<id>`.
  router.get('/api/me', cache.route({ perUser: userOf }), async (ctx) => {
    const user = userOf(ctx);
    if (!user) return unauthorized(ctx);
    const favourites = await catalogue.favourites(user);
    ctx.body = { user, favourites, servedAt: new Date().toISOString() };
  });

  // Writes. invalidateOn drops the tags after a 2xx, before the response is sent.
  router.post('/api/products', cache.invalidateOn({ tags: ['products'] }), async (ctx) => {
    const input = parseProductInput(await readJson(ctx));
    if ('error' in input) return badRequest(ctx, input.error);
    ctx.status = 201;
    ctx.body = await catalogue.create(input);
  });

  // The same by hand, from the controller, once the write succeeded.
  router.put('/api/products/:id', async (ctx) => {
    const id = positiveInt(ctx.params.id);
    const input = parseProductInput(await readJson(ctx));
    if ('error' in input) return badRequest(ctx, input.error);
    const product = id === undefined ? undefined : await catalogue.update(id, input);
    if (!product) return notFound(ctx);
    await ctx.cache.invalidate({ tags: ['products', productTag(product.id)] });
    ctx.body = product;
  });

  router.delete(
    '/api/products/:id',
    cache.invalidateOn<RouterContext>({
      tags: (ctx) => ['products', productTag(ctx.params.id)],
    }),
    async (ctx) => {
      const id = positiveInt(ctx.params.id);
      if (id === undefined || !(await catalogue.remove(id))) return notFound(ctx);
      ctx.status = 204;
    },
  );

  // A user's write drops only that user's entries.
  router.post(
    '/api/me/favourites',
    cache.invalidateOn({ users: (ctx) => userList(ctx) }),
    async (ctx) => {
      const user = userOf(ctx);
      if (!user) return unauthorized(ctx);
      const body = await readJson(ctx);
      const id =
        typeof body === 'object' && body !== null
          ? (body as { productId?: unknown }).productId
          : undefined;
      if (typeof id !== 'number' || !(await catalogue.addFavourite(user, id)))
        return badRequest(ctx, 'productId must name a product');
      ctx.status = 201;
      ctx.body = { user, productId: id };
    },
  );

  app.use(router.routes());
  app.use(router.allowedMethods());
  const close = async (): Promise<void> => {
    metrics?.close();
    await cache.close();
  };
  return { app, cache, catalogue, close };
}

/** `Authorization: Bearer <user>` → `ctx.state.user`. Trusts anyone: this is a demo, not auth. */
async function authenticate(ctx: Context, next: Next): Promise<void> {
  const match = /^Bearer ([\w.@-]{1,64})$/.exec(ctx.get('Authorization'));
  if (match) ctx.state.user = match[1];
  await next();
}

function userOf(ctx: Context): string | undefined {
  const user: unknown = ctx.state.user;
  return typeof user === 'string' ? user : undefined;
}

function userList(ctx: Context): string[] {
  const user = userOf(ctx);
  return user ? [user] : [];
}

/** The request's JSON body (Koa parses none by itself; a body parser package would do too). */
async function readJson(ctx: Context): Promise<unknown> {
  if (!ctx.is('application/json')) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) ctx.throw(413, 'body too large');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return ctx.throw(400, 'body is not valid JSON');
  }
}

function badRequest(ctx: Context, error: string): void {
  ctx.status = 400;
  ctx.body = { error };
}

function notFound(ctx: Context): void {
  ctx.status = 404;
  ctx.body = { error: 'no such product' };
}

function unauthorized(ctx: Context): void {
  ctx.status = 401;
  ctx.body = { error: 'send Authorization: Bearer <user>' };
}
