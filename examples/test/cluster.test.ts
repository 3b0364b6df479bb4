import { createServer, type Server } from 'node:http';
import request from 'supertest';
import { RedisCacheStore } from '@restash/core';
import { startRedis, waitFor, type RedisHandle } from '../../test/harness';
import { createCluster, type Cluster } from '../express/src/cluster';

// `pnpm example:cluster` in one test: two instances of the Express example on one Redis and one
// database; a write on A drops what B cached, B's local tier included.

let redis: RedisHandle;
let stores: [RedisCacheStore, RedisCacheStore];
let cluster: Cluster;
let servers: Server[];
const errors: unknown[] = [];

beforeAll(async () => {
  redis = await startRedis();
  // One prefix for both: they share the key space, as two processes on one Redis would.
  const store = () =>
    new RedisCacheStore({ clientOpts: redis.options({ keyPrefix: `${redis.keyPrefix}cluster:` }) });
  stores = [store(), store()];
  cluster = createCluster({ stores, dbLatencyMs: 1, onError: (err) => errors.push(err) });
  servers = cluster.instances.map((instance) => createServer(instance.app));
  await Promise.all(
    servers.map((server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))),
  );
});

afterAll(async () => {
  for (const server of servers ?? []) server.closeAllConnections();
  await Promise.all((servers ?? []).map((server) => new Promise((r) => server.close(r))));
  await cluster?.close();
  await Promise.all((stores ?? []).map((store) => store.close()));
  await redis?.stop();
});

const on = (instance: 0 | 1) => {
  const server = servers[instance];
  if (!server) throw new Error(`no instance ${instance}`);
  return request(server);
};
const [A, B] = [0, 1] as const;

/** GETs `path` on B until it is a hit answered from B's local tier (no Redis round trip). */
async function warmOnB(path: string): Promise<void> {
  const instanceB = cluster.instances[B];
  await waitFor(
    async () => {
      const before = instanceB.cache.stats().localHits;
      const res = await on(B).get(path).expect(200);
      return res.headers['x-cache'] === 'HIT' && instanceB.cache.stats().localHits > before;
    },
    3000,
    `a local hit on B for ${path}`,
  );
}

/** GETs `path` on B until it shows what `check` wants; B may hear Redis a moment after A wrote. */
async function seenOnB(path: string, check: (body: unknown) => boolean): Promise<void> {
  await waitFor(
    async () => {
      const res = await on(B).get(path).expect(200);
      return res.headers['x-cache'] === 'MISS' && check(res.body);
    },
    1000,
    `B's fresh answer for ${path}`,
  );
}

it('a write on A drops the product B cached', async () => {
  const first = await on(B).get('/api/products/1').expect(200);
  expect(first.headers['x-cache']).toBe('MISS');
  expect(first.body.name).toBe('The Pragmatic Programmer');
  await warmOnB('/api/products/1');

  await on(A)
    .put('/api/products/1')
    .send({ name: 'Renamed on A', category: 'books', price: 40 })
    .expect(200);
  await seenOnB('/api/products/1', (body) => (body as { name?: unknown }).name === 'Renamed on A');
  expect((await on(B).get('/api/products/1')).headers['x-cache']).toBe('HIT');
});

it('a product created on A shows in the list B cached', async () => {
  const path = '/api/products?category=toys';
  const empty = await on(B).get(path).expect(200);
  expect(empty.body.total).toBe(0);
  await warmOnB(path);

  await on(A).post('/api/products').send({ name: 'Yo-yo', category: 'toys', price: 2 }).expect(201);
  await seenOnB(path, (body) => (body as { total?: unknown }).total === 1);
  expect(errors).toEqual([]);
});
