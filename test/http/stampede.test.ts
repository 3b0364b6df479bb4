import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../harness';
import {
  ADAPTERS,
  forbidUnhandledRejections,
  gate,
  get,
  STORES,
  useEnvironment,
  type BuiltApp,
  type Reply,
  type StoreKind,
} from './kit';

// Stampede protection across instances for cached routes: four app instances behind one host —
// each with a Redis store of its own on one Redis, or all on one MemoryCacheStore — and
// concurrent requests for one cold URL.

const env = useEnvironment();
forbidUnhandledRejections();

const INSTANCES = 4;
/** The instances serve one host, as behind a load balancer: they share its entries. */
const HOST = { host: 'shop.example' };

/** Ways a holder's response ends without an entry. */
const RELEASES: [string, Reply][] = [
  ['an uncacheable response (Set-Cookie)', { headers: { 'set-cookie': 'sid=1' }, json: { n: 0 } }],
  ['a 500', { status: 500, text: 'failed' }],
  ['a throw', { throws: true }],
];

describe.each(ADAPTERS)('%s', (_name, kit) => {
  /** `INSTANCES` apps of one cached route, instance `i` answering with `handler(i)`. */
  const instances = (
    kind: StoreKind,
    handler: (i: number) => Promise<Reply>,
  ): Promise<BuiltApp[]> => {
    const shared = kind === 'memory' ? env.store('memory') : undefined;
    return Promise.all(
      Array.from({ length: INSTANCES }, (_, i) =>
        env.build(kit, {
          cache: { store: shared ?? env.store('redis') },
          routes: [{ path: '/cold', cache: {}, handler: () => handler(i) }],
        }),
      ),
    );
  };

  describe.each(STORES)('on %s', (kind) => {
    test('4 instances × 50 concurrent requests for one cold URL: the handler runs once', async () => {
      let runs = 0;
      const apps = await instances(kind, async () => {
        runs++;
        await sleep(100);
        return { json: { run: runs } };
      });
      const answers = await Promise.all(
        Array.from({ length: INSTANCES * 50 }, (_, i) => get(apps[i % INSTANCES]!, '/cold', HOST)),
      );
      expect(runs).toBe(1);
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        expect(JSON.parse(answer.text)).toEqual({ run: 1 });
      }
      const statuses = answers.map((answer) => answer.headers['cache-status']);
      expect(statuses.filter((s) => s?.endsWith('; stored'))).toHaveLength(1);
      // Requests of the other instances waited for it: collapsed, as requests of one instance do.
      expect(statuses).toContain('restash; fwd=uri-miss; collapsed; ttl=59');
    });

    // Every way on Redis; the engine's exits are the same on memory, where one keeps CI time.
    const releases = kind === 'redis' ? RELEASES : RELEASES.slice(-1);
    test.each(releases)('a holder ending in %s releases the lock at once', async (_what, reply) => {
      const entered = gate();
      const release = gate();
      let answered = 0;
      const starts: number[] = [];
      const apps = await instances(kind, async (i) => {
        if (i > 0) {
          starts.push(performance.now());
          return { json: { n: i } };
        }
        entered.open();
        await release.promise;
        answered = performance.now();
        return reply;
      });
      const held = get(apps[0]!, '/cold', HOST);
      await entered.promise; // it holds the lock
      const others = Array.from({ length: 15 }, (_, i) => get(apps[1 + (i % 3)]!, '/cold', HOST));
      await sleep(50);
      expect(starts).toEqual([]); // the others wait for the holder...
      release.open();
      const answers = await Promise.all(others);
      await held;
      // ...and, once it answered without storing, run their own handlers at once instead of
      // waiting out the lock (5 s by default).
      expect(answers.map((answer) => answer.status)).toEqual(Array(15).fill(200));
      expect(Math.min(...starts)).toBeGreaterThanOrEqual(answered);
      expect(performance.now() - answered).toBeLessThan(1000);
    });
  });
});

describe('the stampede option', () => {
  const kit = ADAPTERS[0]![1];

  test.each([
    ['createCache', { stampede: 'on' }, /^stampede must be true, false or \{ wait \}/],
    ['createCache', { stampede: { wait: '1h' } }, /^stampede\.wait must be .*at most 120 s/],
    ['route', { stampede: { wait: -1 } }, /^route\.stampede\.wait must be/],
    ['route', { stampede: { wiat: 1 } }, /unknown option 'wiat'/],
  ])('%s(%p) is a TypeError naming it', (where, options, message) => {
    const make = () =>
      where === 'route'
        ? kit.createCache().route(options as never)
        : kit.createCache(options as never);
    expect(make).toThrow(message);
  });
});

// A stale entry's background refresh (staleWhileRevalidate) takes the fill lock too: one instance
// refreshes it, the others answer stale meanwhile. Framework-neutral (the copies of requests are
// tested per adapter in stale.test.ts): one major of each framework keeps CI time.
describe.each(ADAPTERS.filter(([name]) => name === 'express5' || name === 'koa3'))(
  '%s',
  (_name, kit) => {
    test('4 instances × 10 concurrent requests for one stale URL: one refresh runs', async () => {
      let version = 1;
      let runs = 0;
      const apps = await Promise.all(
        Array.from({ length: INSTANCES }, () =>
          env.build(kit, {
            cache: { store: env.store('redis', { tracking: false }), ttl: 1 },
            routes: [
              {
                path: '/stale',
                cache: { staleWhileRevalidate: 10, name: 'stale' },
                handler: async () => {
                  runs++;
                  await sleep(100);
                  return { text: `v${version}` };
                },
              },
            ],
          }),
        ),
      );
      expect((await get(apps[0]!, '/stale', HOST)).text).toBe('v1');
      await waitFor(() => apps[0]!.cache.stats().stores === 1, 1000, 'stored');
      await sleep(1100);
      version = 2;
      const answers = await Promise.all(
        Array.from({ length: INSTANCES * 10 }, (_, i) => get(apps[i % INSTANCES]!, '/stale', HOST)),
      );
      expect(answers.map((answer) => answer.text)).toEqual(answers.map(() => 'v1'));
      await waitFor(
        async () => (await get(apps[3]!, '/stale', HOST)).text === 'v2',
        2000,
        'refreshed',
      );
      expect(runs).toBe(2);
      for (const app of apps) expect((await get(app, '/stale', HOST)).text).toBe('v2');
    });
  },
);
