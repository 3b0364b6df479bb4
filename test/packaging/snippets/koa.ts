import Koa from 'koa';
import Router from '@koa/router';
import { createCache, RedisCacheStore } from '@restash/koa';

const cache = createCache({ store: new RedisCacheStore(), ttl: 60 }); // Redis on localhost:6379
const app = new Koa();
const router = new Router();
const products = [{ id: 1, name: 'Lamp' }];

router.get('/api/products', cache.route({ tags: ['products'] }), (ctx) => {
  ctx.body = products; // a hit replays the stored bytes and headers without running this
});
router.post('/api/products', cache.invalidateOn({ tags: ['products'] }), (ctx) => {
  products.push({ id: products.length + 1, name: 'Chair' });
  ctx.status = 201; // the 2xx drops every entry tagged 'products'
});
app.use(router.routes()).listen(3000);
