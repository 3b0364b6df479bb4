import { createDataCache, RedisCacheStore } from '@restash/core';
import { db, type Product } from './your-express-app.js';

const cache = createDataCache({ store: new RedisCacheStore(), ttl: '5m' });

export const products = {
  // Concurrent callers share one query; a value a write overtook is returned, not stored.
  get: (id: string) => cache.wrap(`product:${id}`, () => db.products.find(id)),

  list: (page: number) =>
    cache.wrap(`products:page:${page}`, () => db.products.list(page), {
      tags: ['product-lists'],
      staleWhileRevalidate: '1m', // expired: answered at once, refreshed in the background
      staleIfError: '1h', // the database fails: the last value stands in
    }),

  async update(id: string, fields: Partial<Product>): Promise<Product> {
    const product = await db.products.update(id, fields);
    // One call, every page: no KEYS, no SCAN, no race with a read in flight.
    await cache.invalidate({ keys: [`product:${id}`], tags: ['product-lists'] });
    return product;
  },
};
