import express from 'express';
import { createCache, RedisCacheStore } from '@restash/express';

const cache = createCache({ store: new RedisCacheStore(), ttl: 60 }); // Redis on localhost:6379
const app = express();
const products = [{ id: 1, name: 'Lamp' }];

app.get('/api/products', cache.route({ tags: ['products'] }), (_req, res) => {
  res.json(products); // a hit replays the stored bytes and headers without running this
});
app.post('/api/products', cache.invalidateOn({ tags: ['products'] }), (_req, res) => {
  products.push({ id: products.length + 1, name: 'Chair' });
  res.status(201).json(products.at(-1)); // the 2xx drops every entry tagged 'products'
});
app.listen(3000);
