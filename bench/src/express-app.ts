import express from 'express';
import type { CacheStore } from '@restash/core';
import { createCache } from '@restash/express';
import { STORE_NAMES, TTL, type BenchApp, type StoreName } from './routes.js';
import { HELLO, productList } from './work.js';

/** The benchmark's routes on Express, with Express's defaults (ETag on res.json included). */
export function expressApp(stores: Record<StoreName, CacheStore>): BenchApp {
  const app = express();
  const caches = Object.fromEntries(
    STORE_NAMES.map((name) => [name, createCache({ store: stores[name], ttl: TTL })]),
  ) as Record<StoreName, ReturnType<typeof createCache>>;

  const products = async (_req: express.Request, res: express.Response): Promise<void> => {
    res.json(await productList());
  };
  app.get('/hello', (_req, res) => void res.json(HELLO));
  app.get('/uncached/products', products);
  for (const name of STORE_NAMES) app.get(`/${name}/products`, caches[name].route(), products);
  app.get('/__stats', (_req, res) => void res.json(stats()));

  const stats = () =>
    Object.fromEntries(STORE_NAMES.map((name) => [name, caches[name].stats()])) as ReturnType<
      BenchApp['stats']
    >;
  return {
    listener: app,
    stats,
    close: async () => {
      await Promise.all(STORE_NAMES.map((name) => caches[name].close()));
    },
  };
}
