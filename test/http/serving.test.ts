import {
  ADAPTERS,
  call,
  forbidUnhandledRejections,
  get,
  ProbeStore,
  STORES,
  storedCount,
  useEnvironment,
  type Answer,
  type View,
} from './kit';

// How a cached route answers: misses, hits, bodies, validators, HEAD, Vary, debug headers,
// Cache-Groups, statuses, stats, attach/invalidate and close. Runs per adapter, per store.

const env = useEnvironment();
forbidUnhandledRejections();

/** Headers that differ between two answers for reasons other than the cache. */
const TRANSPORT = ['date', 'connection', 'keep-alive', 'x-cache', 'age', 'cache-status'];

function stable(answer: Answer): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(answer.headers).filter(([name]) => !TRANSPORT.includes(name)),
  );
}

describe.each(ADAPTERS)('%s', (_name, kit) => {
  describe.each(STORES)('on %s', (storeKind) => {
    // Tracking on (the default) unless a test reads right after invalidating: the local tier
    // learns of an invalidation asynchronously.
    const store = (options?: { tracking?: boolean }) => env.store(storeKind, options);
    const untracked = () => store({ tracking: false });

    test('a miss runs the handler; a hit replays status, bytes and headers without it', async () => {
      let calls = 0;
      const app = await env.build(kit, {
        cache: { store: store(), statuses: [203] },
        routes: [
          {
            path: '/items/:id',
            cache: {},
            handler: (v) => ({
              status: 203,
              headers: { 'X-Custom': 'yes', Link: ['</a>; rel=a', '</b>; rel=b'] },
              json: { id: v.param('id'), n: ++calls },
            }),
          },
        ],
      });
      const miss = await get(app, '/items/1');
      expect(miss.status).toBe(203);
      expect(miss.headers['x-cache']).toBe('MISS');
      expect(miss.headers.age).toBeUndefined();
      await storedCount(app, 1);
      const hit = await get(app, '/items/1');
      expect(hit.status).toBe(203);
      expect(hit.headers['x-cache']).toBe('HIT');
      expect(hit.headers.age).toMatch(/^\d+$/);
      expect(hit.body.equals(miss.body)).toBe(true);
      expect(stable(hit)).toEqual(stable(miss));
      expect(hit.headers.link).toBe('</a>; rel=a, </b>; rel=b');
      expect(calls).toBe(1);
    }, 10_000);

    test.each([
      ['json', { json: { a: 'ü', list: [1, 2] } }, /^application\/json/],
      ['a string', { text: 'plain ü text' }, /^text\//],
      ['a Buffer', { buffer: Buffer.from([0, 255, 1, 128, 10, 13]) }, /^application\/octet-stream/],
    ])('%s body is stored as the bytes sent, with its content-type', async (_kind, reply, type) => {
      let calls = 0;
      const app = await env.build(kit, {
        cache: { statuses: [200, 203], store: store() },
        routes: [{ path: '/body', cache: {}, handler: () => (calls++, reply) }],
      });
      const miss = await get(app, '/body');
      expect(miss.headers['content-type']).toMatch(type);
      await storedCount(app, 1);
      const hit = await get(app, '/body');
      expect(hit.headers['x-cache']).toBe('HIT');
      expect(hit.body.equals(miss.body)).toBe(true);
      expect(hit.headers['content-type']).toBe(miss.headers['content-type']);
      expect(hit.headers['content-length']).toBe(String(miss.body.length));
      expect(calls).toBe(1);
    });

    test('streamed bodies pass through and are not stored', async () => {
      let calls = 0;
      const app = await env.build(kit, {
        cache: { store: store() },
        routes: [{ path: '/stream', cache: {}, handler: () => (calls++, { stream: ['a', 'b'] }) }],
      });
      for (let i = 0; i < 2; i++) {
        const answer = await get(app, '/stream');
        expect(answer.text).toBe('ab');
        expect(answer.headers['x-cache']).toBe('MISS');
      }
      expect(calls).toBe(2);
      expect(app.cache.stats().stores).toBe(0);
    });

    test('a hit writes the stored bytes: no JSON serializer runs', async () => {
      const app = await env.build(kit, {
        cache: { store: store() },
        routes: [{ path: '/j', cache: {}, handler: () => ({ json: { marker: 'serialize-me' } }) }],
      });
      const stringify = jest.spyOn(JSON, 'stringify');
      const serialized = (): number =>
        stringify.mock.calls.filter(
          ([value]) => typeof value === 'object' && value !== null && 'marker' in value,
        ).length;
      try {
        await get(app, '/j');
        expect(serialized()).toBeGreaterThan(0); // the probe sees the framework serialize
        await storedCount(app, 1);
        stringify.mockClear();
        const hit = await get(app, '/j');
        expect(hit.headers['x-cache']).toBe('HIT');
        expect(hit.text).toBe('{"marker":"serialize-me"}');
        expect(serialized()).toBe(0);
      } finally {
        stringify.mockRestore();
      }
    });

    test('every stored entry has an ETag, already on the miss; If-None-Match gets a bodiless 304', async () => {
      let calls = 0;
      const app = await env.build(kit, {
        cache: { store: store() },
        routes: [{ path: '/e', cache: {}, handler: () => (calls++, { text: 'etag me' }) }],
      });
      const miss = await get(app, '/e');
      const etag = miss.headers.etag;
      expect(etag).toBeDefined();
      await storedCount(app, 1);
      const notModified = await get(app, '/e', { 'If-None-Match': etag! });
      expect(notModified.status).toBe(304);
      expect(notModified.body.length).toBe(0);
      expect(notModified.headers.etag).toBe(etag);
      expect(notModified.headers['x-cache']).toBe('HIT');
      const other = await get(app, '/e', { 'If-None-Match': '"something-else"' });
      expect(other.status).toBe(200);
      expect(other.text).toBe('etag me');
      expect(calls).toBe(1);
    });

    test('a 304 produced on a miss is never stored', async () => {
      let calls = 0;
      const app = await env.build(kit, {
        cache: { store: store() },
        routes: [
          { path: '/c', cache: {}, handler: () => (calls++, { text: 'full', conditional: true }) },
        ],
      });
      // Learn the framework's ETag without storing anything (request no-store bypasses).
      const first = await get(app, '/c', { 'Cache-Control': 'no-store' });
      expect(first.headers['x-cache']).toBe('BYPASS');
      const etag = first.headers.etag!;
      const conditional = await get(app, '/c', { 'If-None-Match': etag });
      expect(conditional.status).toBe(304);
      expect(conditional.headers['x-cache']).toBe('MISS');
      const plain = await get(app, '/c');
      expect(plain.status).toBe(200);
      expect(plain.text).toBe('full');
      expect(plain.headers['x-cache']).toBe('MISS');
      expect(calls).toBe(3);
      expect(app.cache.stats().stores).toBeLessThanOrEqual(1); // only the plain 200
    });

    test('HEAD is answered from the GET entry without a body; a HEAD miss stores nothing', async () => {
      let calls = 0;
      const app = await env.build(kit, {
        cache: { store: store() },
        routes: [{ path: '/h', cache: {}, handler: () => (calls++, { text: 'head body' }) }],
      });
      const headMiss = await call(app, 'head', '/h');
      expect(headMiss.status).toBe(200);
      expect(headMiss.headers['x-cache']).toBe('MISS');
      const getMiss = await get(app, '/h');
      expect(getMiss.headers['x-cache']).toBe('MISS'); // the HEAD created no entry
      await storedCount(app, 1);
      const headHit = await call(app, 'head', '/h');
      expect(headHit.headers['x-cache']).toBe('HIT');
      expect(headHit.body.length).toBe(0);
      expect(headHit.headers['content-length']).toBe(String(getMiss.body.length));
      expect(headHit.headers['content-type']).toBe(getMiss.headers['content-type']);
      expect(calls).toBe(2);
    });

    test('Vary is honoured: each variant is stored and served to its own requests', async () => {
      let calls = 0;
      const app = await env.build(kit, {
        cache: { store: store() },
        routes: [
          {
            path: '/v',
            cache: {},
            handler: (v) => {
              calls++;
              return {
                headers: { Vary: 'Accept-Language' },
                text: `lang=${v.header('accept-language') ?? 'none'}`,
              };
            },
          },
        ],
      });
      const ask = (lang: string) => get(app, '/v', { 'Accept-Language': lang });
      for (let round = 0; round < 3; round++) {
        for (const lang of ['en', 'de']) expect((await ask(lang)).text).toBe(`lang=${lang}`);
      }
      const warm = calls;
      for (const lang of ['en', 'de', 'en']) {
        const answer = await ask(lang);
        expect(answer.text).toBe(`lang=${lang}`);
        expect(answer.headers['x-cache']).toBe('HIT');
        expect(answer.headers.vary).toBe('Accept-Language');
      }
      expect(calls).toBe(warm);
    });

    test('debugHeaders: false drops X-Cache and Age', async () => {
      let calls = 0;
      const app = await env.build(kit, {
        cache: { store: store(), debugHeaders: false },
        routes: [{ path: '/d', cache: {}, handler: () => (calls++, { text: 'quiet' }) }],
      });
      const miss = await get(app, '/d');
      await storedCount(app, 1);
      const hit = await get(app, '/d');
      const bypass = await get(app, '/d', { 'Cache-Control': 'no-store' });
      for (const answer of [miss, hit, bypass]) {
        expect(answer.headers['x-cache']).toBeUndefined();
        expect(answer.headers.age).toBeUndefined();
        expect(answer.text).toBe('quiet');
      }
      expect(calls).toBe(2); // the hit was still a hit
    });

    test('Cache-Groups tags the entry and never reaches the client', async () => {
      let calls = 0;
      const app = await env.build(kit, {
        cache: { store: untracked() },
        routes: [
          {
            path: '/g',
            cache: {},
            handler: () => (
              calls++,
              { headers: { 'Cache-Groups': '"g1", "g 2"' }, text: 'grouped' }
            ),
          },
          {
            path: '/g-bypass',
            handler: () => ({ headers: { 'Cache-Groups': '"x"' }, text: 'no cache route' }),
          },
        ],
      });
      const miss = await get(app, '/g');
      expect(miss.headers['cache-groups']).toBeUndefined();
      // A tag only the response names was unknown to the lease taken before the handler ran: the
      // Redis store refuses the first store of a tag it never versioned (see CacheStore.lease).
      if (storeKind === 'redis') {
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(app.cache.stats().stores).toBe(0);
        expect((await get(app, '/g')).headers['x-cache']).toBe('MISS');
      }
      await storedCount(app, 1);
      const hit = await get(app, '/g');
      expect(hit.headers['x-cache']).toBe('HIT');
      expect(hit.headers['cache-groups']).toBeUndefined();
      const bypass = await get(app, '/g', { 'Cache-Control': 'no-store' });
      expect(bypass.headers['cache-groups']).toBeUndefined();
      await app.cache.invalidate({ tags: ['g 2'] });
      expect((await get(app, '/g')).headers['x-cache']).toBe('MISS');
      expect(calls).toBe(storeKind === 'redis' ? 4 : 3);
    });

    test('only statuses in `statuses` are stored (default 200)', async () => {
      let calls = 0;
      const routes = [
        { path: '/missing', cache: {}, handler: () => (calls++, { status: 404, text: 'gone' }) },
        {
          path: '/missing-cached',
          cache: { statuses: [200, 404] },
          handler: () => (calls++, { status: 404, text: 'gone' }),
        },
      ];
      const app = await env.build(kit, { cache: { store: store() }, routes });
      expect((await get(app, '/missing')).headers['x-cache']).toBe('MISS');
      expect((await get(app, '/missing')).headers['x-cache']).toBe('MISS');
      await get(app, '/missing-cached');
      await storedCount(app, 1);
      const hit = await get(app, '/missing-cached');
      expect(hit.status).toBe(404);
      expect(hit.headers['x-cache']).toBe('HIT');
      expect(hit.text).toBe('gone');
      expect(calls).toBe(3);
    });

    test('stats() counts hits, misses, bypasses, stores, invalidations and errors', async () => {
      const app = await env.build(kit, {
        cache: { store: store(), onError: () => {} },
        routes: [
          { path: '/s', cache: {}, handler: () => ({ text: 's' }) },
          {
            path: '/s-broken-key',
            cache: {
              name: 'broken',
              key: () => {
                throw new Error('key function failed');
              },
            },
            handler: () => ({ text: 'still served' }),
          },
        ],
      });
      await get(app, '/s');
      await storedCount(app, 1);
      await get(app, '/s');
      await get(app, '/s');
      await get(app, '/s', { 'Cache-Control': 'no-store' });
      const broken = await get(app, '/s-broken-key');
      expect(broken.status).toBe(200);
      expect(broken.text).toBe('still served');
      await app.cache.invalidate({ tags: ['t'] });
      const stats = app.cache.stats();
      expect(stats).toMatchObject({
        hits: 2,
        misses: 1,
        stale: 0,
        bypasses: 2,
        stores: 1,
        invalidations: 1,
        errors: 1,
        refused: 0,
      });
      expect(stats.localHits).toBeLessThanOrEqual(2); // hits answered from process memory
      // Per route: by its name, or the pattern the router matched (Express), or '*'.
      const s = stats.routes[kit.framework === 'express' ? '/s' : '*'];
      expect(s).toEqual({ hits: 2, misses: 1, stale: 0, bypasses: 1, stores: 1 });
      expect(stats.routes.broken).toMatchObject({ bypasses: 1 });
    });

    test('route(), invalidateOn() and attach() set req.cache / ctx.cache for controllers', async () => {
      let calls = 0;
      const seen: Record<string, boolean> = {};
      const probe = (name: string) => (v: View) => {
        seen[name] = v.cache !== undefined;
        return { text: name };
      };
      const app = await env.build(kit, {
        cache: { store: untracked() },
        routes: [
          { path: '/plain', handler: probe('plain') },
          { path: '/routed', cache: { tags: ['t'] }, handler: () => (calls++, { text: 'r' }) },
          { path: '/write', method: 'post', invalidateOn: { tags: [] }, handler: probe('write') },
          {
            path: '/controller',
            method: 'post',
            cache: {},
            handler: async (v) => {
              seen.controller = v.cache !== undefined;
              await v.cache!.invalidate({ tags: ['t'] });
              return { text: 'done' };
            },
          },
        ],
      });
      await get(app, '/plain');
      await call(app, 'post', '/write');
      expect(seen).toEqual({ plain: false, write: true });
      await get(app, '/routed');
      await storedCount(app, 1);
      expect((await get(app, '/routed')).headers['x-cache']).toBe('HIT');
      await call(app, 'post', '/controller');
      expect(seen.controller).toBe(true);
      expect((await get(app, '/routed')).headers['x-cache']).toBe('MISS');
      expect(calls).toBe(2);

      const attached = await env.build(kit, {
        attach: true,
        cache: { store: store() },
        routes: [{ path: '/plain', handler: probe('attached') }],
      });
      await get(attached, '/plain');
      expect(seen.attached).toBe(true);
    });

    test('cache.invalidate drops entries by URL path, custom key, tag and user', async () => {
      const calls: Record<string, number> = {};
      const count = (name: string) => (calls[name] = (calls[name] ?? 0) + 1);
      const app = await env.build(kit, {
        cache: { store: untracked() },
        routes: [
          { path: '/list', cache: {}, handler: (v) => ({ text: `list ${count(v.url)}` }) },
          {
            path: '/item/:id',
            cache: { key: (v) => `item-${v.param('id')}` },
            handler: (v) => ({ text: `item ${count(v.url)}` }),
          },
          {
            path: '/tagged',
            cache: { tags: ['tg'] },
            handler: (v) => ({ text: `${count(v.url)}` }),
          },
          {
            path: '/me',
            cache: { perUser: (v) => v.header('x-user') },
            handler: (v) => ({
              text: `${v.header('x-user')} ${count(`me-${v.header('x-user')}`)}`,
            }),
          },
        ],
      });
      const requests: [string, Record<string, string>][] = [
        ['/list?page=1', {}],
        ['/list?page=2', {}],
        ['/item/1', {}],
        ['/item/2', {}],
        ['/tagged', {}],
        ['/me', { 'X-User': 'alice' }],
        ['/me', { 'X-User': 'bob' }],
      ];
      for (const [path, headers] of requests) await get(app, path, headers);
      await storedCount(app, requests.length);
      const state = async () => {
        const out: string[] = [];
        for (const [path, headers] of requests)
          out.push((await get(app, path, headers)).headers['x-cache']!);
        return out;
      };
      expect(await state()).toEqual(Array(requests.length).fill('HIT'));
      await app.cache.invalidate({ keys: ['/list', 'item-1'], tags: ['tg'], users: ['alice'] });
      expect(await state()).toEqual(['MISS', 'MISS', 'MISS', 'HIT', 'MISS', 'MISS', 'HIT']);
    });

    test('after close() routes bypass the cache; a store that was passed in stays open', async () => {
      let calls = 0;
      const passed = store();
      const app = await env.build(kit, {
        cache: { store: passed },
        routes: [{ path: '/x', cache: {}, handler: () => ({ text: `n${++calls}` }) }],
      });
      await get(app, '/x');
      await storedCount(app, 1);
      await app.cache.close();
      await app.cache.close(); // twice is harmless
      const after = await get(app, '/x');
      expect(after.headers['x-cache']).toBe('BYPASS');
      expect(after.text).toBe('n2');
      await expect(passed.set('k', 'v')).resolves.toBeUndefined();
    });

    test('keys longer than a few hundred bytes are hashed, and still never collide', async () => {
      const probe = new ProbeStore(store());
      const app = await env.build(kit, {
        cache: { store: probe },
        routes: [{ path: '/long', cache: {}, handler: (v) => ({ text: v.url.slice(-10) }) }],
      });
      const long = (last: string) => `/long?q=${'x'.repeat(1500)}${last}`;
      expect((await get(app, long('A'))).text).toBe('xxxxxxxxxA');
      await storedCount(app, 1);
      const b = await get(app, long('B'));
      expect(b.text).toBe('xxxxxxxxxB');
      expect(b.headers['x-cache']).toBe('MISS');
      expect((await get(app, long('A'))).headers['x-cache']).toBe('HIT');
      const keys = probe.calls.filter((c) => c.method === 'get').map((c) => String(c.args[0]));
      expect(Math.max(...keys.map((k) => k.length))).toBeLessThan(400);
    });
  });

  test.each<[string, () => unknown, RegExp]>([
    ['createCache ttl', () => kit.createCache({ ttl: -1 }), /ttl/],
    ['createCache ttl (not an integer)', () => kit.createCache({ ttl: 1.5 }), /ttl/],
    ['createCache store', () => kit.createCache({ store: {} as never }), /store/],
    [
      'createCache debugHeaders',
      () => kit.createCache({ debugHeaders: 'no' as never }),
      /debugHeaders/,
    ],
    ['createCache onError', () => kit.createCache({ onError: 'log' as never }), /onError/],
    ['createCache perUser', () => kit.createCache({ perUser: 'id' as never }), /perUser/],
    ['createCache statuses', () => kit.createCache({ statuses: [304] }), /statuses/],
    [
      'createCache unknown option',
      () => kit.createCache({ tll: 5 } as never),
      /unknown option 'tll'/,
    ],
    ['route ttl', () => kit.createCache().route({ ttl: '60' }), /route\.ttl/],
    [
      'route ttl (unreadable)',
      () => kit.createCache().route({ ttl: '5 fortnights' }),
      /route\.ttl/,
    ],
    ['route shorthand', () => kit.createCache().route('soon'), /route\.ttl/],
    ['createCache ttl (not whole seconds)', () => kit.createCache({ ttl: '1500ms' }), /ttl/],
    [
      'createCache staleIfError (negative)',
      () => kit.createCache({ staleIfError: '-1h' }),
      /staleIfError/,
    ],
    ['route tags', () => kit.createCache().route({ tags: 'products' as never }), /route\.tags/],
    ['route key', () => kit.createCache().route({ key: 'k' as never }), /route\.key/],
    ['route shared', () => kit.createCache().route({ shared: 1 as never }), /route\.shared/],
    ['route staleIfError', () => kit.createCache().route({ staleIfError: -5 }), /staleIfError/],
    ['route timeout', () => kit.createCache().route({ timeout: 0 }), /route\.timeout/],
    ['createCache timeout', () => kit.createCache({ timeout: '1s' as never }), /timeout/],
    [
      'route staleWhileRevalidate',
      () => kit.createCache().route({ staleWhileRevalidate: NaN }),
      /staleWhileRevalidate/,
    ],
    [
      'route unknown option',
      () => kit.createCache().route({ tag: ['x'] } as never),
      /unknown option 'tag'/,
    ],
    ['invalidateOn tags', () => kit.createCache().invalidateOn({ tags: 'x' as never }), /tags/],
    ['invalidateOn users', () => kit.createCache().invalidateOn({ users: [{}] as never }), /users/],
    [
      'invalidateOn unknown field',
      () => kit.createCache().invalidateOn({ key: ['x'] } as never),
      /unknown option 'key'/,
    ],
  ])('%s: a bad value is a TypeError naming it', (_what, make, message) => {
    expect(make).toThrow(TypeError);
    expect(make).toThrow(message);
  });

  test('durations may be written as strings, and a duration alone is the route ttl', async () => {
    const app = await env.build(kit, {
      cache: { store: env.store('memory'), staleIfError: '1 day' },
      routes: [
        { path: '/short', cache: '1 hour', handler: () => ({ text: 's' }) },
        { path: '/long', cache: { ttl: '2 days' }, handler: () => ({ text: 'l' }) },
      ],
    });
    for (const path of ['/short', '/long']) await get(app, path);
    await storedCount(app, 2);
    const ttl = async (path: string) =>
      Number(/ttl=(\d+)/.exec((await get(app, path)).headers['cache-status'] ?? '')?.[1]);
    expect(await ttl('/short')).toBeGreaterThan(3590);
    expect(await ttl('/short')).toBeLessThanOrEqual(3600);
    expect(await ttl('/long')).toBeGreaterThan(172_790);
  });

  test('without a store, responses are kept in an in-process store the cache closes', async () => {
    let calls = 0;
    const app = await env.build(kit, {
      routes: [{ path: '/m', cache: {}, handler: () => ({ text: `n${++calls}` }) }],
    });
    await get(app, '/m');
    await storedCount(app, 1);
    expect((await get(app, '/m')).text).toBe('n1');
    expect(calls).toBe(1);
  });

  test('invalidate() with a bad spec rejects with a TypeError naming the field', async () => {
    const app = await env.build(kit, { cache: { store: env.store('memory') }, routes: [] });
    await expect(app.cache.invalidate({ tags: 'x' } as never)).rejects.toThrow(/tags/);
    await expect(app.cache.invalidate({ users: [null] } as never)).rejects.toThrow(TypeError);
    await expect(app.cache.invalidate({ keyz: [] } as never)).rejects.toThrow(
      /unknown option 'keyz'/,
    );
  });

  test('perUser, key and tags functions receive the same request object as the handler', async () => {
    const given: Record<string, object> = {};
    const app = await env.build(kit, {
      cache: { store: env.store('memory') },
      routes: [
        {
          path: '/f',
          cache: {
            perUser: (v) => ((given.perUser = v.native), 'u'),
            key: (v) => ((given.key = v.native), 'k'),
            tags: (v) => ((given.tags = v.native), ['t']),
          },
          handler: (v) => ((given.handler = v.native), { text: 'f' }),
        },
      ],
    });
    await get(app, '/f');
    await storedCount(app, 1);
    const { handler, ...functions } = given;
    expect(Object.keys(functions).sort()).toEqual(['key', 'perUser', 'tags']);
    for (const native of Object.values(functions)) expect(native).toBe(handler);
    // Koa hands over ctx, Express req.
    expect('request' in handler! && 'response' in handler).toBe(kit.framework === 'koa');
  });
});
