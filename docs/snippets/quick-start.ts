import express from 'express';
import { createCache, RedisCacheStore } from '@restash/express';
import { db } from './your-express-app.js';

const cache = createCache({ store: new RedisCacheStore(), ttl: '5m' });
const app = express();
app.use(express.json());

app.get('/api/products', cache.route({ tags: ['products'] }), async (_req, res) => {
  res.json(await db.products.list(1)); // a hit answers without running this
});
app.put('/api/products/:id', cache.invalidateOn({ tags: ['products'] }), async (req, res) => {
  res.json(await db.products.update(String(req.params.id), req.body)); // on 2xx: every instance drops it
});
app.listen(3000);
