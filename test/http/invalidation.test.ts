import type { InvalidateSpec } from '@restash/core';
import {
  ADAPTERS,
  call,
  forbidUnhandledRejections,
  gate,
  get,
  ProbeStore,
  STORES,
  storedCount,
  useEnvironment,
  type AppSpec,
  type Gate,
  type RouteSpec,
} from './kit';
import { waitFor } from '../harness';

// Invalidation: invalidateOn ordering and status rule, single-flight, and leases (a miss that
// an invalidation overtakes does not store its stale body). Per adapter, per store; the Redis
// store runs without tracking because these tests read right after invalidating.

const env = useEnvironment();
forbidUnhandledRejections();

const boom = (): never => {
  throw new Error('a bug in the spec');
};

describe.each(ADAPTERS)('%s', (_name, kit) => {
  describe.each(STORES)('on %s', (storeKind) => {
    const store = () => env.store(storeKind, { tracking: false });

    test('invalidateOn finishes the invalidation before the response reaches the client', async () => {
      const probe = new ProbeStore(store());
      const events: string[] = [];
      const release = gate();
      const app = await env.build(kit, {
        cache: { store: probe },
        routes: [
          { path: '/list', cache: { tags: ['list'] }, handler: () => ({ text: 'list' }) },
          {
            path: '/list',
            method: 'post',
            invalidateOn: { tags: ['list'] },
            handler: () => (events.push('handler done'), { status: 201, text: 'created' }),
          },
        ],
      });
      await get(app, '/list');
      await storedCount(app, 1);
      const invalidating = gate();
      probe.onCall = (method) => method === 'invalidateTags' && invalidating.open();
      probe.hold.invalidateTags = release.promise.then(() => void events.push('invalidated'));
      const write = call(app, 'post', '/list').then((answer) => {
        events.push('response');
        return answer;
      });
      await invalidating.promise;
      // Give a response that did not wait every chance to arrive first.
      await new Promise((resolve) => setTimeout(resolve, 150));
      release.open();
      expect((await write).status).toBe(201);
      expect(events).toEqual(['handler done', 'invalidated', 'response']);
      expect((await get(app, '/list')).headers['x-cache']).toBe('MISS');
    });

    test.each([
      ['a 4xx', { status: 400, text: 'bad' }],
      ['a failed handler', { throws: true }],
    ])('invalidateOn does not invalidate after %s', async (_what, reply) => {
      const probe = new ProbeStore(store());
      const app = await env.build(kit, {
        cache: { store: probe },
        routes: [
          { path: '/list', cache: { tags: ['list'] }, handler: () => ({ text: 'list' }) },
          { path: '/list', method: 'post', invalidateOn: { tags: ['list'] }, handler: () => reply },
        ],
      });
      await get(app, '/list');
      await storedCount(app, 1);
      const write = await call(app, 'post', '/list');
      expect(write.status).toBeGreaterThanOrEqual(400);
      expect(probe.count('invalidateTags')).toBe(0);
      expect((await get(app, '/list')).headers['x-cache']).toBe('HIT');
    });

    test.each([
      ['throws', () => boom()],
      ['returns something else than a list', () => 'products' as unknown as string[]],
    ])('an invalidateOn function that %s fails the write’s response', async (_what, tags) => {
      let written = 0;
      const app = await env.build(kit, {
        cache: { store: store() },
        routes: [
          {
            path: '/list',
            method: 'post',
            invalidateOn: { tags },
            handler: () => (written++, { status: 201, text: 'created' }),
          },
        ],
      });
      const write = await call(app, 'post', '/list');
      expect(written).toBe(1);
      expect(write.status).toBe(500);
      expect(write.text).not.toBe('created');
    });

    test('invalidateOn keys, tags and users may be functions of the request', async () => {
      const routes: RouteSpec[] = [
        {
          path: '/items/:id',
          cache: { tags: (v) => [`item:${v.param('id')}`] },
          handler: (v) => ({ text: v.url }),
        },
        {
          path: '/users/:id',
          cache: { perUser: (v) => v.param('id') },
          handler: (v) => ({ text: v.url }),
        },
        {
          path: '/pages/:id',
          cache: { key: (v) => `page-${v.param('id')}` },
          handler: (v) => ({ text: v.url }),
        },
        {
          path: '/change/:id',
          method: 'put',
          invalidateOn: {
            tags: (v) => [`item:${v.param('id')}`],
            users: (v) => [v.param('id')!],
            keys: (v) => [`page-${v.param('id')}`],
          },
          handler: () => ({ text: 'ok' }),
        },
      ];
      const app = await env.build(kit, { cache: { store: store() }, routes });
      const paths = ['/items/1', '/items/2', '/users/1', '/users/2', '/pages/1', '/pages/2'];
      for (const path of paths) await get(app, path);
      await storedCount(app, paths.length);
      await call(app, 'put', '/change/1');
      const xCache = [];
      for (const path of paths) xCache.push((await get(app, path)).headers['x-cache']);
      expect(xCache).toEqual(['MISS', 'HIT', 'MISS', 'HIT', 'MISS', 'HIT']);
    });

    test('concurrent misses for one key run the handler once', async () => {
      const N = 12;
      let arrived = 0;
      let calls = 0;
      const app = await env.build(kit, {
        cache: { store: store() },
        routes: [
          {
            path: '/hot',
            cache: {
              // Counts requests as they reach the cache, before their lookup.
              key: () => (arrived++, 'hot'),
            },
            handler: async () => {
              calls++;
              await waitFor(() => arrived >= N, 5000, 'all requests');
              return { json: { hot: true } };
            },
          },
        ],
      });
      const answers = await Promise.all(Array.from({ length: N }, () => get(app, '/hot')));
      expect(calls).toBe(1);
      for (const answer of answers) expect(answer.text).toBe('{"hot":true}');
      const xCache = answers.map((a) => a.headers['x-cache']).sort();
      expect(xCache).toEqual([...Array(N - 1).fill('HIT'), 'MISS']);
    });

    describe('an invalidation that lands while a miss is in flight stops it from storing', () => {
      const cases: [string, AppSpec['routes'][number]['cache'], InvalidateSpec][] = [
        ['tags', { tags: ['catalog'] }, { tags: ['catalog'] }],
        ['users', { perUser: (v) => v.header('x-user') }, { users: ['u1'] }],
        ['keys', {}, { keys: ['/data'] }],
      ];
      test.each(cases)('by %s', async (_by, routeCache, spec) => {
        let version = 1;
        let held: Gate | undefined;
        const started = gate();
        const app = await env.build(kit, {
          cache: { store: store() },
          routes: [
            {
              path: '/data',
              cache: routeCache,
              handler: async () => {
                const seen = version; // read "the database" first, then be slow
                if (held) {
                  started.open();
                  await held.promise;
                }
                return { json: { version: seen } };
              },
            },
            {
              path: '/data',
              method: 'post',
              invalidateOn: spec,
              handler: () => (version++, { text: 'written' }),
            },
          ],
        });
        const headers = { 'X-User': 'u1' };
        held = gate();
        const slow = get(app, '/data', headers);
        await started.promise;
        const write = await call(app, 'post', '/data');
        expect(write.status).toBe(200);
        const release = held;
        held = undefined;
        release.open();
        const stale = await slow;
        expect(JSON.parse(stale.text)).toEqual({ version: 1 }); // what it read, sent once
        await new Promise((resolve) => setTimeout(resolve, 50)); // let a (wrong) store land
        const next = await get(app, '/data', headers);
        expect(next.headers['x-cache']).toBe('MISS');
        expect(JSON.parse(next.text)).toEqual({ version: 2 });
        await storedCount(app, 1);
        const hit = await get(app, '/data', headers);
        expect(hit.headers['x-cache']).toBe('HIT');
        expect(JSON.parse(hit.text)).toEqual({ version: 2 });
      });
    });
  });

  test('an invalidation from another app instance on the same Redis stops a miss in flight', async () => {
    let version = 1;
    const held = gate();
    const started = gate();
    let hold = true;
    const routes = (): RouteSpec[] => [
      {
        path: '/shared',
        cache: { tags: ['shared'] },
        handler: async () => {
          const seen = version;
          if (hold) {
            hold = false;
            started.open();
            await held.promise;
          }
          return { json: { version: seen } };
        },
      },
    ];
    const a = await env.build(kit, {
      cache: { store: env.store('redis', { tracking: false }) },
      routes: routes(),
    });
    const b = await env.build(kit, {
      cache: { store: env.store('redis', { tracking: false }) },
      routes: routes(),
    });
    const slow = get(a, '/shared');
    await started.promise;
    version = 2;
    await b.cache.invalidate({ tags: ['shared'] });
    held.open();
    expect(JSON.parse((await slow).text)).toEqual({ version: 1 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const next = await get(a, '/shared');
    expect(next.headers['x-cache']).toBe('MISS');
    expect(JSON.parse(next.text)).toEqual({ version: 2 });
  });
});

// Tags, user ids and keys come from requests (a JSON body can hold "\ud800"). One odd string must
// neither cost the valid tags of the same call their invalidation nor switch the cache off.
describe.each(ADAPTERS)('%s, odd strings', (_name, kit) => {
  test('an invalidation naming an odd tag beside valid ones invalidates them all, and caching goes on', async () => {
    const app = await env.build(kit, {
      cache: { store: env.store('redis', { tracking: false }) },
      routes: [
        { path: '/good', cache: { tags: ['good'] }, handler: () => ({ text: 'good' }) },
        { path: '/odd', cache: { tags: ['\ud800'] }, handler: () => ({ text: 'odd' }) },
        {
          path: '/user',
          cache: { perUser: () => 'u\udfff' },
          handler: () => ({ text: 'user' }),
        },
        { path: '/other', cache: {}, handler: () => ({ text: 'other' }) },
      ],
    });
    for (const path of ['/good', '/odd', '/user']) await get(app, path);
    await storedCount(app, 3);
    await app.cache.invalidate({ tags: ['good', '\ud800', '\udbff'], users: ['u\udfff'] });
    expect(app.cache.stats().errors).toBe(0);
    for (const path of ['/good', '/odd', '/user'])
      expect((await get(app, path)).headers['x-cache']).toBe('MISS');
    expect((await get(app, '/other')).headers['x-cache']).toBe('MISS');
    await storedCount(app, 4);
    expect((await get(app, '/other')).headers['x-cache']).toBe('HIT');
  });
});
