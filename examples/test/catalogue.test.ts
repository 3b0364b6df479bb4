import { createServer, type RequestListener, type Server } from 'node:http';
import request from 'supertest';
import { RedisCacheStore, type CacheStore } from '@restash/core';
import type { Catalogue } from '@restash/example-shared';
import { startRedis, type RedisHandle } from '../../test/harness';
import { createApp as createExpressApp } from '../express/src/app';
import { createApp as createKoaApp } from '../koa/src/app';

// Drives both examples over HTTP, each once on the in-memory default store and once on Redis.

interface Example {
  listener: RequestListener;
  catalogue: Catalogue;
  close(): Promise<void>;
}

type AppOptions = { store?: CacheStore; dbLatencyMs: number; onError(err: unknown): void };

const EXAMPLES: [string, (options: AppOptions) => Example][] = [
  [
    'Express',
    (options) => {
      const example = createExpressApp(options);
      return { ...example, listener: example.app };
    },
  ],
  [
    'Koa',
    (options) => {
      const example = createKoaApp(options);
      return { ...example, listener: example.app.callback() };
    },
  ],
];

let redis: RedisHandle;
let storeCount = 0;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await redis?.stop();
});

const CASES = EXAMPLES.flatMap(([name, create]) =>
  (['in-memory', 'Redis'] as const).map((kind) => [name, kind, create] as const),
);

describe.each(CASES)('%s example on the %s store', (_name, kind, createApp) => {
  let example: Example;
  let store: RedisCacheStore | undefined;
  let server: Server;
  let errors: unknown[];

  beforeEach(async () => {
    // A fresh catalogue each test, so a fresh key space too.
    store =
      kind === 'Redis'
        ? new RedisCacheStore({
            clientOpts: redis.options({ keyPrefix: `${redis.keyPrefix}${++storeCount}:` }),
          })
        : undefined;
    errors = [];
    example = createApp({
      ...(store ? { store } : {}),
      dbLatencyMs: 1,
      onError: (err) => errors.push(err),
    });
    // One server for the whole test: the Host header (with the port) is part of the cache key.
    server = createServer(example.listener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await example.close();
    await store?.close();
    expect(errors).toEqual([]);
  });

  const get = (path: string, user?: string) => {
    const req = request(server).get(path);
    return user ? req.set('Authorization', `Bearer ${user}`) : req;
  };
  const put = (path: string, body: object) => request(server).put(path).send(body);

  it('answers a list with a MISS, then a HIT that does not reach the database', async () => {
    const first = await get('/api/products?category=books');
    expect(first.status).toBe(200);
    expect(first.headers['x-cache']).toBe('MISS');
    expect(first.body.items.map((p: { category: string }) => p.category)).toEqual(
      Array(5).fill('books'),
    );
    const queries = example.catalogue.queries;

    const second = await get('/api/products?category=books');
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.body).toEqual(first.body); // servedAt included: the stored response
    expect(example.catalogue.queries).toBe(queries);
  });

  it('keys lists by query string, whatever the order of its parameters', async () => {
    expect((await get('/api/products?category=hardware&page=1')).headers['x-cache']).toBe('MISS');
    const page2 = await get('/api/products?category=hardware&page=2');
    expect(page2.headers['x-cache']).toBe('MISS');
    expect(page2.body.page).toBe(2);
    expect((await get('/api/products?page=1&category=hardware')).headers['x-cache']).toBe('HIT');
    expect((await get('/api/products?category=pantry')).headers['x-cache']).toBe('MISS');
  });

  it('drops the lists and that product on a PUT, and leaves other products cached', async () => {
    await get('/api/products');
    await get('/api/products/1');
    await get('/api/products/2');
    expect((await get('/api/products')).headers['x-cache']).toBe('HIT');
    expect((await get('/api/products/1')).headers['x-cache']).toBe('HIT');

    const updated = await put('/api/products/1', { name: 'Renamed', category: 'books', price: 1 });
    expect(updated.status).toBe(200);

    const list = await get('/api/products');
    expect(list.headers['x-cache']).toBe('MISS');
    expect(list.body.items[0].name).toBe('Renamed');
    const detail = await get('/api/products/1');
    expect(detail.headers['x-cache']).toBe('MISS');
    expect(detail.body.name).toBe('Renamed');
    expect((await get('/api/products/2')).headers['x-cache']).toBe('HIT');
  });

  it('drops the lists on a POST and the product on a DELETE (invalidateOn)', async () => {
    await get('/api/products?category=toys');
    await get('/api/products/3');
    const empty = await get('/api/products?category=toys');
    expect(empty.headers['x-cache']).toBe('HIT');
    expect(empty.body.total).toBe(0);

    const created = await request(server)
      .post('/api/products')
      .send({ name: 'Spinning top', category: 'toys', price: 3 });
    expect(created.status).toBe(201);
    const toys = await get('/api/products?category=toys');
    expect(toys.headers['x-cache']).toBe('MISS');
    expect(toys.body.items).toEqual([{ ...created.body }]);

    expect((await get('/api/products/3')).headers['x-cache']).toBe('HIT');
    expect((await request(server).delete('/api/products/3')).status).toBe(204);
    expect((await get('/api/products/3')).status).toBe(404);
    const afterDelete = await get('/api/products?category=toys');
    expect(afterDelete.headers['x-cache']).toBe('MISS');
  });

  it('does not invalidate when a write fails', async () => {
    await get('/api/products');
    const rejected = await put('/api/products/1', { name: 'No price', category: 'books' });
    expect(rejected.status).toBe(400);
    expect((await request(server).delete('/api/products/999')).status).toBe(404);
    expect((await get('/api/products')).headers['x-cache']).toBe('HIT');
  });

  it('keeps /api/me per user: one user never gets another one’s response', async () => {
    await request(server)
      .post('/api/me/favourites')
      .set('Authorization', 'Bearer alice')
      .send({ productId: 6 })
      .expect(201);

    const alice = await get('/api/me', 'alice');
    const bob = await get('/api/me', 'bob');
    expect([alice.headers['x-cache'], bob.headers['x-cache']]).toEqual(['MISS', 'MISS']);
    expect(alice.body.user).toBe('alice');
    expect(alice.body.favourites.map((p: { id: number }) => p.id)).toEqual([6]);
    expect(bob.body).toMatchObject({ user: 'bob', favourites: [] });

    const aliceAgain = await get('/api/me', 'alice');
    const bobAgain = await get('/api/me', 'bob');
    expect(aliceAgain.headers['x-cache']).toBe('HIT');
    expect(aliceAgain.body).toEqual(alice.body);
    expect(bobAgain.headers['x-cache']).toBe('HIT');
    expect(bobAgain.body).toEqual(bob.body);

    // Alice's write drops her entries only.
    await request(server)
      .post('/api/me/favourites')
      .set('Authorization', 'Bearer alice')
      .send({ productId: 7 })
      .expect(201);
    const aliceAfter = await get('/api/me', 'alice');
    expect(aliceAfter.headers['x-cache']).toBe('MISS');
    expect(aliceAfter.body.favourites.map((p: { id: number }) => p.id)).toEqual([6, 7]);
    expect((await get('/api/me', 'bob')).headers['x-cache']).toBe('HIT');
  });

  it('never stores the anonymous 401 of /api/me', async () => {
    const first = await get('/api/me');
    const second = await get('/api/me');
    expect([first.status, second.status]).toEqual([401, 401]);
    expect([first.headers['x-cache'], second.headers['x-cache']]).toEqual(['MISS', 'MISS']);
  });

  it('does not cache a 404 for an unknown product', async () => {
    // The seed has 12 products: 13 is the id the next one gets.
    const queries = example.catalogue.queries;
    const first = await get('/api/products/13');
    const second = await get('/api/products/13');
    expect([first.status, second.status]).toEqual([404, 404]);
    expect([first.headers['x-cache'], second.headers['x-cache']]).toEqual(['MISS', 'MISS']);
    expect(example.catalogue.queries).toBe(queries + 2);

    const created = await request(server)
      .post('/api/products')
      .send({ name: 'New', category: 'books', price: 1 });
    expect(created.body.id).toBe(13);
    const found = await get('/api/products/13');
    expect(found.status).toBe(200);
    expect(found.body.name).toBe('New');
  });
});
