import Koa from 'koa';
import Router from '@koa/router';
import type { CacheStore } from '@restash/core';
import { createCache } from '@restash/koa';
import { STORE_NAMES, TTL, type BenchApp, type StoreName } from './routes.js';
import { HELLO, productList } from './work.js';

/** The benchmark's routes on Koa with @koa/router. */
export function koaApp(stores: Record<StoreName, CacheStore>): BenchApp {
  const app = new Koa();
  const router = new Router();
  const caches = Object.fromEntries(
    STORE_NAMES.map((name) => [name, createCache({ store: stores[name], ttl: TTL })]),
  ) as Record<StoreName, ReturnType<typeof createCache>>;

  const products = async (ctx: Koa.Context): Promise<void> => {
    ctx.body = await productList();
  };
  router.get('/hello', (ctx) => {
    ctx.body = HELLO;
  });
  router.get('/uncached/products', products);
  for (const name of STORE_NAMES) router.get(`/${name}/products`, caches[name].route(), products);
  router.get('/__stats', (ctx) => {
    ctx.body = stats();
  });
  app.use(router.routes());

  const stats = () =>
    Object.fromEntries(STORE_NAMES.map((name) => [name, caches[name].stats()])) as ReturnType<
      BenchApp['stats']
    >;
  return {
    listener: app.callback(),
    stats,
    close: async () => {
      await Promise.all(STORE_NAMES.map((name) => caches[name].close()));
    },
  };
}
