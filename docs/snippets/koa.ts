import Koa from 'koa';
import Router, { type RouterContext } from '@koa/router';
import { createCache, RedisCacheStore } from '@restash/koa';
import { authenticate, createProduct, db, getMe, getProduct } from './your-koa-app.js';

const cache = createCache({ store: new RedisCacheStore(), ttl: 60 });
const app = new Koa();
const router = new Router();
app.use(cache.attach()); // ctx.cache

router.get('/api/products', cache.route({ tags: ['products'] }), async (ctx) => {
  ctx.body = await db.products.list(); // objects are stored as the JSON Koa sends
});
// Option functions get ctx; name the router's context type to reach ctx.params.
router.get(
  '/api/products/:id',
  cache.route<RouterContext>({ tags: (ctx) => [`product:${ctx.params.id}`] }),
  getProduct,
);
router.get('/api/me', authenticate, cache.route({ perUser: (ctx) => ctx.state.user?.id }), getMe);
router.post('/api/products', cache.invalidateOn({ tags: ['products'] }), createProduct);
router.put('/api/products/:id', async (ctx) => {
  const product = await db.products.update(ctx.params.id, ctx.request.body);
  await ctx.cache.invalidate({ tags: ['products', `product:${product.id}`] });
  ctx.body = product;
});
app.use(router.routes());
