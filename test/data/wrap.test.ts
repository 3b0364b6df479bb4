import { setTimeout as sleep } from 'node:timers/promises';
import {
  createDataCache,
  V8_CODEC,
  WrapTimeoutError,
  type DataCache,
  type FetchContext,
} from '@restash/core';
import { waitFor } from '../harness';
import {
  ADAPTERS,
  brokenStore,
  forbidUnhandledRejections,
  gate,
  get,
  STORES,
  storedCount,
  useEnvironment,
} from '../http/kit';

// Cache-aside with `wrap`: on both stores through createDataCache, and through req.cache /
// ctx.cache in every adapter, where it shares tags and invalidations with cached responses.

const env = useEnvironment();
forbidUnhandledRejections();

describe.each(STORES)('createDataCache on %s', (kind) => {
  let errors: unknown[];
  const data = (options: { ttl?: number | string } = {}): DataCache => {
    errors = [];
    // Untracked: a read right after an invalidation must see it (tracking learns asynchronously).
    return createDataCache({
      store: env.store(kind, { tracking: false }),
      onError: (err) => errors.push(err),
      ...options,
    });
  };

  test('a miss runs fetch and stores its value; a hit returns it without fetch', async () => {
    const cache = data();
    let runs = 0;
    const fetch = () => ({ id: 7, name: 'lamp', runs: ++runs });
    expect(await cache.wrap('product:7', fetch)).toEqual({ id: 7, name: 'lamp', runs: 1 });
    expect(await cache.wrap('product:7', fetch)).toEqual({ id: 7, name: 'lamp', runs: 1 });
    expect(runs).toBe(1);
    expect(errors).toEqual([]);
  });

  test('concurrent misses for one key share one fetch', async () => {
    const cache = data();
    const release = gate();
    let runs = 0;
    const fetch = async () => {
      runs++;
      await release.promise;
      return 'v';
    };
    const calls = Array.from({ length: 20 }, () => cache.wrap('k', fetch));
    await sleep(50);
    release.open();
    expect(await Promise.all(calls)).toEqual(Array(20).fill('v'));
    expect(runs).toBe(1);
  });

  test('an invalidation of its tags during fetch: the value is returned, not stored', async () => {
    const cache = data();
    let runs = 0;
    const fetch = async () => {
      runs++;
      if (runs === 1) await cache.invalidate({ tags: ['products'] });
      return `v${runs}`;
    };
    expect(await cache.wrap('list', fetch, { tags: ['products'] })).toBe('v1');
    expect(await cache.wrap('list', fetch, { tags: ['products'] })).toBe('v2');
    expect(await cache.wrap('list', fetch, { tags: ['products'] })).toBe('v2');
    expect(runs).toBe(2);
  });

  test('invalidating a tag, or the key, drops the value', async () => {
    const cache = data();
    let runs = 0;
    const fetch = () => ++runs;
    await cache.wrap('count', fetch, { tags: ['counts'] });
    await cache.invalidate({ tags: ['counts'] });
    expect(await cache.wrap('count', fetch, { tags: ['counts'] })).toBe(2);
    await cache.invalidate({ keys: ['count'] });
    expect(await cache.wrap('count', fetch, { tags: ['counts'] })).toBe(3);
    expect(await cache.wrap('count', fetch, { tags: ['counts'] })).toBe(3);
  });

  test('undefined is never stored; null only with cacheNull', async () => {
    const cache = data();
    let runs = 0;
    const none = () => (++runs, undefined);
    await cache.wrap('u', none);
    await cache.wrap('u', none);
    expect(runs).toBe(2);
    runs = 0;
    const nothing = () => (++runs, null);
    await cache.wrap('n', nothing);
    expect(await cache.wrap('n', nothing)).toBeNull();
    expect(runs).toBe(2);
    runs = 0;
    await cache.wrap('n2', nothing, { cacheNull: true });
    expect(await cache.wrap('n2', nothing, { cacheNull: true })).toBeNull();
    expect(runs).toBe(1);
  });

  test('fetch sets the ttl from the value', async () => {
    const cache = data();
    let runs = 0;
    const fetch = (context: FetchContext) => {
      context.setTtl('1s');
      return ++runs;
    };
    await cache.wrap('p', fetch);
    expect(await cache.wrap('p', fetch)).toBe(1);
    await sleep(1050);
    expect(await cache.wrap('p', fetch)).toBe(2);
  });

  test('fetch adds tags from the value: invalidating one drops it', async () => {
    const cache = data();
    // The Redis store stores under a tag only once it knows it (see CacheStore.lease).
    await cache.wrap('brand', () => 'acme', { tags: ['brand:acme'] });
    let runs = 0;
    const fetch = (context: FetchContext) => {
      context.addTags('brand:acme');
      return ++runs;
    };
    await cache.wrap('p', fetch);
    expect(await cache.wrap('p', fetch)).toBe(1);
    await cache.invalidate({ tags: ['brand:acme'] });
    expect(await cache.wrap('p', fetch)).toBe(2);
  });

  test('the v8 codec keeps Maps and Dates; an entry another codec wrote is a miss', async () => {
    const cache = data();
    const value = { at: new Date(0), seen: new Map([['a', 1]]) };
    await cache.wrap('v8', () => value, { codec: V8_CODEC });
    const again = await cache.wrap<typeof value | null>('v8', () => null, { codec: V8_CODEC });
    expect(again).toEqual(value);
    // (v8.deserialize builds its Map in Node's realm, not the test's: no toBeInstanceOf.)
    expect(again?.seen.get('a')).toBe(1);
    expect(await cache.wrap('v8', () => 'json')).toBe('json');
  });

  test('staleWhileRevalidate: an expired value is returned at once and refreshed once', async () => {
    const cache = data({ ttl: 1 });
    const release = gate();
    let runs = 0;
    const fetch = async () => {
      if (++runs > 1) await release.promise;
      return runs;
    };
    const options = { staleWhileRevalidate: 60 };
    await cache.wrap('s', fetch, options);
    await sleep(1050);
    expect(await Promise.all([1, 2, 3].map(() => cache.wrap('s', fetch, options)))).toEqual([
      1, 1, 1,
    ]);
    await waitFor(() => runs === 2, 3000, 'the background refresh');
    release.open();
    await cache.close();
    expect(await cache.wrap('s', fetch, options)).toBe(2);
    expect(runs).toBe(2);
  });

  test('staleIfError: a failing fetch is answered with the expired value', async () => {
    const cache = data({ ttl: 1 });
    await cache.wrap('e', () => 'old', { staleIfError: 60 });
    await cache.wrap('without', () => 'old');
    await sleep(1050);
    const failing = () => Promise.reject(new Error('database down'));
    expect(await cache.wrap('e', failing, { staleIfError: 60 })).toBe('old');
    await expect(cache.wrap('without', failing)).rejects.toThrow('database down');
  });

  test('timeout: a slow fetch is answered with the stale value and still refreshes', async () => {
    const cache = data({ ttl: 1 });
    const options = { staleIfError: 60, timeout: 50 };
    await cache.wrap('t', () => 'old', options);
    await sleep(1050);
    const release = gate();
    const slow = async () => {
      await release.promise;
      return 'new';
    };
    const started = Date.now();
    expect(await cache.wrap('t', slow, options)).toBe('old');
    expect(Date.now() - started).toBeLessThan(1000);
    release.open();
    await cache.close();
    expect(await cache.wrap('t', () => 'unused', options)).toBe('new');
  });

  test('hardTimeout: wrap rejects with a WrapTimeoutError', async () => {
    const cache = data();
    const release = gate();
    const call = cache.wrap('h', () => release.promise.then(() => 1), { hardTimeout: 30 });
    await expect(call).rejects.toBeInstanceOf(WrapTimeoutError);
    await expect(call).rejects.toThrow(/wrap\('h'\).*30 ms/);
    release.open();
    await cache.close();
  });
});

describe('createDataCache', () => {
  test.each(['reject', 'throw'] as const)(
    'a store that fails (%s) costs the cache, not the caller: fetch answers',
    async (how) => {
      const errors: unknown[] = [];
      const cache = createDataCache({ store: brokenStore(how), onError: (e) => errors.push(e) });
      expect(await cache.wrap('k', () => 'fresh')).toBe('fresh');
      expect(await cache.wrap('k', () => 'again')).toBe('again');
      expect(errors.length).toBeGreaterThan(0);
    },
  );

  test.each<[string, () => unknown, RegExp]>([
    ['store', () => createDataCache({} as never), /store/],
    ['ttl', () => createDataCache({ store: env.store('memory'), ttl: 'soon' }), /ttl/],
    [
      'unknown option',
      () => createDataCache({ store: env.store('memory'), tll: 1 } as never),
      /tll/,
    ],
  ])('a bad %s is a TypeError naming it', (_what, make, message) => {
    expect(make).toThrow(TypeError);
    expect(make).toThrow(message);
  });

  test.each<[string, object, RegExp]>([
    ['ttl', { ttl: -1 }, /ttl/],
    ['tags', { tags: 'products' }, /tags/],
    ['staleWhileRevalidate', { staleWhileRevalidate: '1 fortnight' }, /staleWhileRevalidate/],
    ['timeout', { timeout: 0 }, /timeout/],
    ['codec', { codec: { name: 'x' } }, /codec/],
  ])('a bad wrap %s is a TypeError naming it', async (_what, options, message) => {
    const cache = createDataCache({ store: env.store('memory') });
    await expect(cache.wrap('k', () => 1, options as never)).rejects.toThrow(message);
    await expect(cache.wrap('k', () => 1, options as never)).rejects.toBeInstanceOf(TypeError);
  });
});

describe.each(ADAPTERS)('%s: req.cache.wrap / ctx.cache.wrap', (_name, kit) => {
  test.each(STORES)(
    'on %s: values and responses share tags: one invalidation drops both',
    async (kind) => {
      let queries = 0;
      let handlerRuns = 0;
      const app = await env.build(kit, {
        cache: { store: env.store(kind, { tracking: false }) },
        attach: true,
        routes: [
          {
            path: '/products',
            cache: { tags: ['products'] },
            handler: async (v) => {
              handlerRuns++;
              const list = await v.cache!.wrap('products:all', () => [`p${++queries}`], {
                tags: ['products'],
              });
              return { json: list };
            },
          },
          {
            path: '/count',
            handler: async (v) => ({
              json: await v.cache!.wrap('products:all', () => [`p${++queries}`], {
                tags: ['products'],
              }),
            }),
          },
        ],
      });
      expect((await get(app, '/products')).text).toBe('["p1"]');
      await storedCount(app, 1);
      expect((await get(app, '/count')).text).toBe('["p1"]');
      await app.cache.invalidate({ tags: ['products'] });
      expect((await get(app, '/count')).text).toBe('["p2"]');
      expect((await get(app, '/products')).text).toBe('["p2"]');
      expect(handlerRuns).toBe(2);
      expect(queries).toBe(2);
    },
  );
});
