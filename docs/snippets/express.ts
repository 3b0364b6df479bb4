import express from 'express';
import { createCache, RedisCacheStore } from '@restash/express';
import { db, logger, listProducts, getProduct, getMe, createProduct } from './your-express-app.js';
import { authenticate, type AuthedRequest } from './your-express-app.js';

const store = new RedisCacheStore({ clientOpts: { host: 'localhost', keyPrefix: 'shop:' } });
const cache = createCache({
  store,
  ttl: 60, // seconds (or '1m'); per route below
  onError: (err) => logger.warn(err), // every Redis problem the cache absorbed
});

const app = express();
app.use(express.json());
app.use(cache.attach()); // req.cache on every request (route() and invalidateOn() set it too)

// Reads: cached, tagged.
app.get('/api/products', cache.route({ ttl: 300, tags: ['products'] }), listProducts);
app.get(
  '/api/products/:id',
  cache.route({ tags: (req) => [`product:${req.params.id}`] }),
  getProduct,
);
// Per user: keyed by user and tagged `user:<id>`; one user's entry is never served to another.
// Name the request type your authentication gives, so perUser can read it.
app.get(
  '/api/me',
  authenticate,
  cache.route<AuthedRequest>({ perUser: (req) => req.user?.id }),
  getMe,
);

// Writes: invalidate after a 2xx, before the response reaches the client...
app.post('/api/products', cache.invalidateOn({ tags: ['products'] }), createProduct);
// ...or from the controller, after the write.
app.put('/api/products/:id', async (req, res) => {
  const product = await db.products.update(req.params.id, req.body);
  await req.cache.invalidate({ tags: ['products', `product:${product.id}`] });
  res.json(product);
});

// On shutdown:
await cache.close(); // waits for stores in progress
await store.close(); // a store you passed is yours to close
