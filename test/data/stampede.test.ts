import { setTimeout as sleep } from 'node:timers/promises';
import {
  createDataCache,
  RedisCacheStore,
  type CacheStore,
  type DataCache,
  type DataCacheOptions,
} from '@restash/core';
import { TcpProxy } from '../harness';
import { forbidUnhandledRejections, gate, STORES, useEnvironment } from '../http/kit';

// Stampede protection across instances for `wrap`: four app instances — four Redis stores on one
// Redis, or four data caches on one MemoryCacheStore — and 200 concurrent calls for one cold key.

const env = useEnvironment();
forbidUnhandledRejections();

const INSTANCES = 4;
const CALLS = 200;
/** What a fetch takes. */
const FETCH_MS = 100;
/**
 * Beyond the wait, a holder that died costs the caller that takes over its fetch, and the others
 * at most one more pause between their reads (100 ms); plus scheduling on a busy machine.
 */
const SLACK_MS = FETCH_MS + 100 + 150;

describe.each(STORES)('wrap across 4 instances on %s', (kind) => {
  let errors: unknown[];
  let stores: CacheStore[];
  const instances = (options: Partial<DataCacheOptions> = {}): DataCache[] => {
    errors = [];
    const shared = kind === 'memory' ? env.store('memory') : undefined;
    stores = Array.from({ length: INSTANCES }, () => shared ?? env.store('redis'));
    return stores.map((store) =>
      createDataCache({ store, onError: (err) => errors.push(err), ...options }),
    );
  };
  /** `CALLS` concurrent calls spread over `caches`, each resolving to its value and when. */
  const stampede = (caches: DataCache[], fetch: () => Promise<string>, calls = CALLS) => {
    const started = performance.now();
    return Promise.all(
      Array.from({ length: calls }, async (_, i) => {
        const value = await caches[i % caches.length]!.wrap('cold', fetch);
        return { value, after: performance.now() - started };
      }),
    );
  };

  test('200 concurrent misses over 4 instances run fetch once', async () => {
    const caches = instances();
    let runs = 0;
    const answers = await stampede(caches, async () => {
      runs++;
      await sleep(FETCH_MS);
      return `v${runs}`;
    });
    expect(runs).toBe(1);
    expect(answers.map((a) => a.value)).toEqual(Array(CALLS).fill('v1'));
    expect(errors).toEqual([]);
  });

  test('a stale value within staleWhileRevalidate is refreshed once across instances', async () => {
    const caches = instances();
    let runs = 0;
    const fetch = async (): Promise<string> => {
      runs++;
      await sleep(FETCH_MS);
      return `v${runs}`;
    };
    const options = { ttl: 1, staleWhileRevalidate: 10 };
    expect(await caches[0]!.wrap('stale', fetch, options)).toBe('v1');
    await sleep(1100);
    const stale = await Promise.all(
      Array.from({ length: INSTANCES * 10 }, (_, i) =>
        caches[i % INSTANCES]!.wrap('stale', fetch, options),
      ),
    );
    expect(stale).toEqual(Array(INSTANCES * 10).fill('v1'));
    await sleep(FETCH_MS + 100);
    expect(await caches[3]!.wrap('stale', fetch, options)).toBe('v2');
    expect(runs).toBe(2);
    expect(errors).toEqual([]);
  });

  test('without stampede protection each instance runs fetch', async () => {
    const caches = instances({ stampede: false });
    let runs = 0;
    await stampede(caches, async () => (runs++, await sleep(FETCH_MS), 'v'));
    expect(runs).toBe(INSTANCES);
  });

  test('a holder that died delays the others by at most the wait; then one computes', async () => {
    const WAIT_MS = 500;
    const [holder, ...others] = instances({ stampede: { wait: '500ms' } });
    const computing = gate();
    // The holder takes the lock and dies mid-fetch: its fetch never ends, its connection closes.
    void holder!.wrap('cold', () => (computing.open(), new Promise<string>(() => {})));
    await computing.promise;
    if (kind === 'redis') await stores[0]!.close();
    let runs = 0;
    const answers = await stampede(others, async () => {
      runs++;
      await sleep(FETCH_MS);
      return 'v';
    });
    expect(runs).toBe(1);
    expect(answers.every((a) => a.value === 'v')).toBe(true);
    const delays = answers.map((a) => a.after);
    // They waited for the lock to run out (taken a little before they started)...
    expect(Math.min(...delays)).toBeGreaterThan(WAIT_MS - 100);
    // ...and not much longer.
    expect(Math.max(...delays)).toBeLessThan(WAIT_MS + SLACK_MS);
  });

  test.each([
    ['throws', () => Promise.reject(new Error('db down'))],
    ['returns undefined', () => Promise.resolve(undefined)],
  ])('a holder whose fetch %s releases the lock: nobody waits it out', async (_how, fail) => {
    const [holder, ...others] = instances(); // the default wait: 5 s
    const entered = gate();
    const release = gate();
    const held = holder!
      .wrap<unknown>('cold', async () => {
        entered.open(); // it holds the lock
        await release.promise;
        return fail();
      })
      .catch(() => 'failed');
    await entered.promise;
    let runs = 0;
    const calls = stampede(others, async () => (runs++, await sleep(FETCH_MS), 'v'), 30);
    await sleep(100);
    expect(runs).toBe(0); // they wait for the holder...
    release.open();
    const answers = await calls;
    await held;
    // ...and once it gave up, each instance computes at once (its other calls share its fetch).
    expect(runs).toBe(INSTANCES - 1);
    expect(Math.max(...answers.map((a) => a.after))).toBeLessThan(1000);
  });
});

test('Redis failing under a waiting caller: it computes at once, and onError hears why', async () => {
  const holder = createDataCache({ store: env.store('redis') });
  const entered = gate();
  const release = gate();
  const held = holder.wrap('cold', async () => (entered.open(), await release.promise, 'held'));
  await entered.promise;
  // The waiter's connections go through a proxy, cut once it waits.
  const { host, port } = env.redis();
  const proxy = await TcpProxy.start({ host, port });
  const errors: unknown[] = [];
  const store = new RedisCacheStore({
    clientOpts: env.redis().options({ port: proxy.port }),
    tracking: false,
    errorCallback: (err) => errors.push(err),
  });
  try {
    const waiter = createDataCache({ store, onError: (err) => errors.push(err) });
    const started = performance.now();
    const waiting = waiter.wrap('cold', async () => 'computed');
    await sleep(100);
    expect(errors).toEqual([]); // it waits
    await proxy.close();
    expect(await waiting).toBe('computed');
    expect(performance.now() - started).toBeLessThan(1000); // not the 5 s wait
    expect(errors.length).toBeGreaterThan(0);
  } finally {
    release.open();
    await held;
    await store.close();
  }
});

describe('the stampede option', () => {
  const store = (): CacheStore => env.store('memory');

  test.each([
    ['a string', 'yes', /stampede must be true, false or \{ wait \}/],
    ['a zero wait', { wait: 0 }, /stampede\.wait must be/],
    ['a wait over two minutes', { wait: '3m' }, /stampede\.wait must be .*at most 120 s/],
    ['a bare number string', { wait: '500' }, /stampede\.wait must be/],
    ['an unknown field', { timeout: 5 }, /unknown option 'timeout'/],
  ])('%s is a TypeError naming it', async (_what, value, message) => {
    const options = { stampede: value } as Pick<DataCacheOptions, 'stampede'>;
    expect(() => createDataCache({ store: store(), ...options })).toThrow(message);
    const cache = createDataCache({ store: store() });
    await expect(cache.wrap('k', () => 1, { stampede: value } as never)).rejects.toThrow(message);
  });

  test.each([true, false, { wait: 0.25 }, { wait: '250ms' }, { wait: '2s' }, {}])(
    '%p is accepted',
    async (value) => {
      const cache = createDataCache({ store: store(), stampede: value });
      expect(await cache.wrap('k', () => 1, { stampede: value })).toBe(1);
    },
  );
});
