import type { Express, Request, Response } from 'express';
import express from 'express5';
import request from 'supertest';
import type { RedisCacheStore } from '@restash/core';
import { createCache, type ExpressCache } from '@restash/express';
import { startRedisCluster, waitFor, type ClusterHandle } from '../harness';
import { clusterStore } from './support';

// The HTTP engine, unchanged, over a cluster-backed store: two app instances (two stores, each
// with its local tier) caching a tagged route and a per-user route on a 3-master cluster.

let cluster: ClusterHandle;
const stores: RedisCacheStore[] = [];
const caches: ExpressCache[] = [];
const errors: unknown[] = [];
let calls = 0;

function makeApp(): Express {
  const store = clusterStore(cluster, errors);
  const cache = createCache({ store, ttl: 60, onError: (err) => errors.push(err) });
  stores.push(store);
  caches.push(cache);
  const app = express();
  app.get(
    '/products/:id',
    cache.route({ tags: (req) => ['products', `product:${req.params.id}`] }),
    (req: Request, res: Response) => void res.json({ id: req.params.id, n: ++calls }),
  );
  app.post(
    '/products/:id',
    cache.invalidateOn({ tags: (req) => [`product:${req.params.id}`] }),
    (_req: Request, res: Response) => void res.status(204).end(),
  );
  app.get(
    '/me',
    cache.route({ perUser: (req) => req.header('x-user') }),
    (req: Request, res: Response) => void res.json({ user: req.header('x-user'), n: ++calls }),
  );
  return app;
}

// supertest listens on a new port per request, and the host is part of the default key: every
// request names the same host, as requests reaching two instances behind one name would.
const HOST = 'shop.example';
const get = (app: Express, path: string) => request(app).get(path).set('Host', HOST);
const post = (app: Express, path: string) => request(app).post(path).set('Host', HOST);

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
});
afterAll(async () => {
  // The caches did not create their stores, so they leave them open: close those too.
  await Promise.all(caches.splice(0).map((c) => c.close()));
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await cluster?.stop();
});

test('tagged and per-user routes hit, and invalidations reach both app instances', async () => {
  const a = makeApp();
  const b = makeApp();
  const ids = ['1', '2', '3', '4', '5', '6'];

  for (const id of ids) {
    const miss = await get(a, `/products/${id}`);
    expect(miss.status).toBe(200);
    expect(miss.headers['x-cache']).toBe('MISS');
    const hit = await get(a, `/products/${id}`);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body).toEqual(miss.body);
    // The other instance finds the entry in the cluster too.
    const other = await get(b, `/products/${id}`);
    expect(other.headers['x-cache']).toBe('HIT');
    expect(other.body).toEqual(miss.body);
  }
  // The responses spread over the cluster's masters.
  const holding = await Promise.all(
    (await cluster.masters()).map((m) =>
      cluster.onNode(m.port, (c) => c.keys(`${cluster.keyPrefix}metadata:*`)),
    ),
  );
  expect(holding.filter((keys) => keys.length > 0).length).toBeGreaterThan(1);

  // A write through A invalidates product 1 before it answers; B stops serving it.
  const before = (await get(b, '/products/1')).body as { n: number };
  expect((await post(a, '/products/1')).status).toBe(204);
  const fresh = await get(a, '/products/1');
  expect(fresh.headers['x-cache']).toBe('MISS');
  await waitFor(async () => {
    const res = await get(b, '/products/1');
    return (res.body as { n: number }).n !== before.n;
  });
  expect((await get(b, '/products/2')).headers['x-cache']).toBe('HIT');

  // A tag spanning every master.
  await caches[0]!.invalidate({ tags: ['products'] });
  for (const id of ids) {
    expect((await get(a, `/products/${id}`)).headers['x-cache']).toBe('MISS');
  }

  // Per-user entries: invalidating one user leaves the other's.
  for (const user of ['u1', 'u2']) {
    expect((await get(a, '/me').set('x-user', user)).headers['x-cache']).toBe('MISS');
    // The engine stores after answering: A's own hit shows the entry is in the cluster.
    expect((await get(a, '/me').set('x-user', user)).headers['x-cache']).toBe('HIT');
    const hit = await get(b, '/me').set('x-user', user);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body.user).toBe(user);
  }
  // Through B this time: A hears of it through tracking, a moment later.
  const old = (await get(a, '/me').set('x-user', 'u1')).body as { n: number };
  await caches[1]!.invalidate({ users: ['u1'] });
  expect((await get(b, '/me').set('x-user', 'u1')).headers['x-cache']).toBe('MISS');
  await waitFor(
    async () => ((await get(a, '/me').set('x-user', 'u1')).body as { n: number }).n !== old.n,
    5000,
    "A serving u1's new response",
  );
  expect((await get(a, '/me').set('x-user', 'u2')).headers['x-cache']).toBe('HIT');
  expect(errors).toEqual([]);
});
