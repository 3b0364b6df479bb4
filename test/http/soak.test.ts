import type { AddressInfo } from 'node:net';
import http from 'node:http';
import { RedisCacheStore } from '@restash/core';
import { startRedis, type RedisHandle } from '../harness';
import { express5Kit } from './kit/express';
import { koa3Kit } from './kit/koa';
import type { BuiltApp, RouteSpec } from './kit';

// Two app instances (Express 5 and Koa 3) on one Redis that evicts (allkeys-lru, small maxmemory),
// each with its local tier, sharing one "database". For 5 s clients read, write and fill the
// cache; every body carries the version it was built from. No read that starts after a write's
// response returned may see an older version: on the writing instance at once, on the other
// after 100 ms (its local tier hears of the invalidation over Redis).

const DURATION_MS = 5_000;
const ITEMS = 40;
const OTHER_INSTANCE_LAG_MS = 100;

let redis: RedisHandle;
const stores: RedisCacheStore[] = [];
const apps: BuiltApp[] = [];

beforeAll(async () => {
  redis = await startRedis({
    owned: true,
    args: ['--maxmemory', '4mb', '--maxmemory-policy', 'allkeys-lru'],
  });
});
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await Promise.all(stores.map((store) => store.close()));
  await redis.stop();
});

test('no read started after a write returns an older version, with Redis evicting', async () => {
  const db = Array.from({ length: ITEMS }, () => 1);
  const errors: unknown[] = [];
  const routes: RouteSpec[] = [
    {
      path: '/items/:id',
      cache: { ttl: 600, tags: (v) => [`item:${v.param('id')}`] },
      handler: (v) => {
        const id = Number(v.param('id'));
        return { json: { id, version: db[id], pad: 'p'.repeat(1500) } };
      },
    },
    {
      path: '/items',
      cache: { ttl: 600, tags: ['items'] },
      handler: () => ({ json: { versions: [...db] } }),
    },
    {
      // Cold filler: fills memory so that Redis evicts.
      path: '/blobs/:n',
      cache: { ttl: 600, tags: (v) => [`blob:${v.param('n')}`] },
      handler: (v) => ({ text: `${v.param('n')}:${'b'.repeat(8000)}` }),
    },
    {
      path: '/items/:id',
      method: 'put',
      invalidateOn: { tags: (v) => ['items', `item:${v.param('id')}`] },
      handler: (v) => {
        const id = Number(v.param('id'));
        return { json: { id, version: ++db[id]! } };
      },
    },
  ];
  for (const kit of [express5Kit, koa3Kit]) {
    const store = new RedisCacheStore({
      clientOpts: redis.options(),
      errorCallback: (err) => errors.push(err),
    });
    stores.push(store);
    apps.push(await kit.build({ cache: { store, onError: (err) => errors.push(err) }, routes }));
  }
  const ports = apps.map((app) => (app.server.address() as AddressInfo).port);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

  /** Per item: the versions writes returned, when and where. */
  const writes: { item: number; version: number; at: number; instance: number }[][] = Array.from(
    { length: ITEMS },
    () => [],
  );
  const violations: string[] = [];
  let reads = 0;
  let hits = 0;

  const required = (item: number, instance: number, startedAt: number): number => {
    let version = 1;
    for (const w of writes[item]!) {
      const visibleAt = w.at + (w.instance === instance ? 0 : OTHER_INSTANCE_LAG_MS);
      if (visibleAt <= startedAt && w.version > version) version = w.version;
    }
    return version;
  };

  const deadline = performance.now() + DURATION_MS;
  let blob = 0;
  const client = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const instance = Math.floor(Math.random() * 2);
      const item = Math.floor(Math.random() * ITEMS);
      const roll = Math.random();
      const startedAt = performance.now();
      if (roll < 0.05) {
        const answer = await request(agent, ports[instance]!, 'PUT', `/items/${item}`);
        const { version } = JSON.parse(answer.body) as { version: number };
        writes[item]!.push({ item, version, at: performance.now(), instance });
      } else if (roll < 0.35) {
        await request(agent, ports[instance]!, 'GET', `/blobs/${blob++}`);
      } else if (roll < 0.45) {
        const answer = await request(agent, ports[instance]!, 'GET', '/items');
        const { versions } = JSON.parse(answer.body) as { versions: number[] };
        reads++;
        if (answer.xCache === 'HIT') hits++;
        versions.forEach((version, i) => {
          const want = required(i, instance, startedAt);
          if (version < want) violations.push(`list@${instance}: item ${i} v${version} < v${want}`);
        });
      } else {
        const answer = await request(agent, ports[instance]!, 'GET', `/items/${item}`);
        const { version } = JSON.parse(answer.body) as { version: number };
        reads++;
        if (answer.xCache === 'HIT') hits++;
        const want = required(item, instance, startedAt);
        if (version < want) violations.push(`item ${item}@${instance}: v${version} < v${want}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, client));
  agent.destroy();

  const evicted = Number(/evicted_keys:(\d+)/.exec(await redis.admin().info('stats'))?.[1]);
  expect(violations).toEqual([]);
  expect(evicted).toBeGreaterThan(100); // Redis did evict during the run
  expect(hits / reads).toBeGreaterThan(0.3); // and the cache still served
  expect(writes.flat().length).toBeGreaterThan(100);
}, 40_000);

function request(
  agent: http.Agent,
  port: number,
  method: string,
  path: string,
): Promise<{ body: string; xCache: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, port, host: '127.0.0.1', method, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          body: Buffer.concat(chunks).toString(),
          xCache: res.headers['x-cache'] as string,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
