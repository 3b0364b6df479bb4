import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { CacheStore } from '@restash/core';
import { createCache, type ExpressCache } from '@restash/express';
import {
  cacheMetrics,
  Catalogue,
  parseProductInput,
  positiveInt,
  productTag,
} from '@restash/example-shared';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Who is calling, from `Authorization: Bearer <user>` (a stand-in for real auth). */
      user?: string;
    }
  }
}

/** Options of {@link createApp}. */
export interface AppOptions {
  /** Where cached responses live. Default: an in-memory store that `close()` closes. */
  store?: CacheStore;
  /** The database. Default: a new catalogue; instances given the same one share their data. */
  catalogue?: Catalogue;
  /** Milliseconds every database call takes, for a new catalogue. Default 5. */
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
  app: Express;
  cache: ExpressCache;
  catalogue: Catalogue;
  /** Closes the cache (and its in-memory store); a `store` you passed stays open. */
  close(): Promise<void>;
}

const PAGE_SIZE = 5;

/** The product catalogue API, its reads cached by restash. */
export function createApp(options: AppOptions = {}): CatalogueApp {
  const catalogue = options.catalogue ?? new Catalogue(options.dbLatencyMs);
  const cache = createCache({
    ttl: 60,
    ...(options.store ? { store: options.store } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  });
  const metrics = options.metrics === false ? undefined : cacheMetrics({ caches: [cache] });
  const app = express();
  if (metrics) {
    app.get('/metrics', async (_req, res) => {
      const { contentType, body } = await metrics.scrape();
      res.set('Content-Type', contentType).send(body);
    });
  }
  app.use(express.json());
  app.use(authenticate);
  // req.cache on every request, for controllers that invalidate by hand (PUT below).
  app.use(cache.attach());

  // Lists: one entry per URL (?category= and ?page= are part of the key), all tagged 'products'.
  app.get('/api/products', cache.route({ ttl: 300, tags: ['products'] }), async (req, res) => {
    const page = req.query.page === undefined ? 1 : positiveInt(req.query.page);
    const { category } = req.query;
    if (page === undefined || (category !== undefined && typeof category !== 'string')) {
      res.status(400).json({ error: 'page must be a positive integer, category a string' });
      return;
    }
    const result = await catalogue.list({ category, page, pageSize: PAGE_SIZE });
    res.json({ ...result, servedAt: new Date().toISOString() });
  });

  // Details: tagged per product, so a write to one product leaves the others cached.
  app.get(
    '/api/products/:id',
    cache.route({ ttl: 300, tags: (req) => [productTag(req.params.id)] }),
    async (req, res) => {
      const id = positiveInt(req.params.id);
      const product = id === undefined ? undefined : await catalogue.get(id);
      // A 404 is not stored (default statuses: [200]): the product may be created next second.
      if (!product) return void res.status(404).json({ error: 'no such product' });
      res.json({ ...product, servedAt: new Date().toISOString() });
    },
  );

  // Per user: each user gets an entry of their own, tagged `user:<id>`.
  app.get('/api/me', cache.route({ perUser: (req) => req.user }), async (req, res) => {
    if (!req.user) return void res.status(401).json({ error: 'send Authorization: Bearer <user>' });
    const favourites = await catalogue.favourites(req.user);
    res.json({ user: req.user, favourites, servedAt: new Date().toISOString() });
  });

  // Writes. invalidateOn drops the tags after a 2xx, before the response reaches the client.
  app.post('/api/products', cache.invalidateOn({ tags: ['products'] }), async (req, res) => {
    const input = parseProductInput(req.body);
    if ('error' in input) return void res.status(400).json(input);
    res.status(201).json(await catalogue.create(input));
  });

  // The same by hand, from the controller, once the write succeeded.
  app.put('/api/products/:id', async (req, res) => {
    const id = positiveInt(req.params.id);
    const input = parseProductInput(req.body);
    if ('error' in input) return void res.status(400).json(input);
    const product = id === undefined ? undefined : await catalogue.update(id, input);
    if (!product) return void res.status(404).json({ error: 'no such product' });
    await req.cache.invalidate({ tags: ['products', productTag(product.id)] });
    res.json(product);
  });

  app.delete(
    '/api/products/:id',
    cache.invalidateOn({ tags: (req) => ['products', productTag(req.params.id)] }),
    async (req, res) => {
      const id = positiveInt(req.params.id);
      const removed = id !== undefined && (await catalogue.remove(id));
      if (!removed) return void res.status(404).json({ error: 'no such product' });
      res.status(204).end();
    },
  );

  // A user's write drops only that user's entries.
  app.post(
    '/api/me/favourites',
    cache.invalidateOn({ users: (req) => (req.user ? [req.user] : []) }),
    async (req, res) => {
      if (!req.user)
        return void res.status(401).json({ error: 'send Authorization: Bearer <user>' });
      const body: unknown = req.body;
      const id =
        typeof body === 'object' && body !== null
          ? (body as { productId?: unknown }).productId
          : undefined;
      if (typeof id !== 'number' || !(await catalogue.addFavourite(req.user, id)))
        return void res.status(400).json({ error: 'productId must name a product' });
      res.status(201).json({ user: req.user, productId: id });
    },
  );

  const close = async (): Promise<void> => {
    metrics?.close();
    await cache.close();
  };
  return { app, cache, catalogue, close };
}

/** `Authorization: Bearer <user>` → `req.user`. Trusts anyone: this is a demo, not auth. */
function authenticate(req: Request, _res: Response, next: NextFunction): void {
  const match = /^Bearer ([\w.@-]{1,64})$/.exec(req.headers.authorization ?? '');
  if (match) req.user = match[1];
  next();
}
