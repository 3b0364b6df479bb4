import { setTimeout as sleep } from 'node:timers/promises';
import {
  ADAPTERS,
  forbidUnhandledRejections,
  gate,
  get,
  useEnvironment,
  type BuiltApp,
  type Gate,
  type Kit,
  type Reply,
  type StoreKind,
} from './kit';
import { waitFor } from '../harness';

// Grace periods in real time, with ttl 1 and 1 s of grace. Each entry gets its own timeline,
// measured from the moment it was stored (checks at +1.1 s: stale; at +2.15 s: past grace); the
// timelines run side by side so the test stays short.

const env = useEnvironment();
forbidUnhandledRejections();

/** Stores `path` (a miss) and returns a sleep-until relative to when it was stored. */
async function stored(app: BuiltApp, path: string): Promise<(ms: number) => Promise<void>> {
  let at = 0;
  // Until a hit shows the entry is in; each miss (re)stores it, no later than its response.
  for (;;) {
    const answer = await get(app, path);
    if (answer.headers['x-cache'] === 'HIT') break;
    at = performance.now();
    await sleep(10);
  }
  return (ms) => sleep(Math.max(0, at + ms - performance.now()));
}

// Every framework major on Redis; one of each framework on the in-memory store (the engine is the
// same, and the timelines are real seconds).
const CASES: [string, Kit, StoreKind][] = [
  ...ADAPTERS.map(([name, kit]): [string, Kit, StoreKind] => [name, kit, 'redis']),
  ...ADAPTERS.filter(([name]) => name === 'express5' || name === 'koa3').map(
    ([name, kit]): [string, Kit, StoreKind] => [name, kit, 'memory'],
  ),
];

describe.each(CASES)('%s on %s', (_name, kit, kind) => {
  test('staleWhileRevalidate and staleIfError answer STALE in their windows, not after', async () => {
    let version = 1;
    let refreshes = 0;
    let hold: { started: Gate; release: Gate } | undefined;
    const failures: Record<string, Reply | undefined> = {};
    const sieHolds = new Map<string, { started: Gate; release: Gate }>();
    const slowHolds = new Map<string, { started: Gate; release: Gate }>();
    let slowVersion = 1;
    const app = await env.build(kit, {
      cache: {
        store: kind === 'redis' ? env.store('redis', { tracking: false }) : env.store('memory'),
        ttl: 1,
      },
      routes: [
        {
          path: '/swr/:id',
          cache: { staleWhileRevalidate: 1, name: 'swr' },
          handler: async (v) => {
            if (v.param('id') === '1' && version === 2) refreshes++;
            const seen = version;
            const held = hold;
            hold = undefined;
            if (held) {
              held.started.open();
              await held.release.promise;
            }
            // The address the request came from, as the app sees it (rate limits, logs).
            const ip = (v.native as { ip?: string }).ip;
            return { headers: { 'x-ip': String(ip) }, text: `v${seen}` };
          },
        },
        {
          path: '/slow/:id',
          cache: { staleIfError: 10, timeout: 200 },
          handler: async (v) => {
            const id = v.param('id')!;
            const held = slowHolds.get(id);
            slowHolds.delete(id);
            if (held) {
              held.started.open();
              await held.release.promise;
            }
            return { text: `${id}:v${slowVersion}` };
          },
        },
        {
          path: '/sie/:id',
          cache: { staleIfError: 1 },
          handler: async (v) => {
            const id = v.param('id')!;
            const held = sieHolds.get(id);
            sieHolds.delete(id);
            if (held) {
              held.started.open();
              await held.release.promise;
            }
            return failures[id] ?? { headers: { 'X-Good': '1' }, text: 'good' };
          },
        },
      ],
    });

    const revalidation = async (): Promise<void> => {
      const until = await stored(app, '/swr/1');
      await until(1100);
      // Expired, inside the window: every request gets the stale copy at once, the first one
      // included, while a copy of it runs the handler in the background (held here).
      version = 2;
      hold = { started: gate(), release: gate() };
      const { started, release } = hold;
      const first = await get(app, '/swr/1');
      expect(first.headers['x-cache']).toBe('STALE');
      expect(first.headers['cache-status']).toMatch(/^restash; hit; fwd=stale; ttl=-\d+$/);
      expect(first.text).toBe('v1');
      await started.promise;
      const stale = await get(app, '/swr/1');
      expect(stale.headers['x-cache']).toBe('STALE');
      expect(stale.text).toBe('v1');
      expect(Number(stale.headers.age)).toBeGreaterThanOrEqual(1);
      release.open();
      // The refresh stores what the handler answered: fresh again, the handler ran once.
      await waitFor(() => app.cache.stats().routes.swr!.stores >= 3, 1000, 'the refresh');
      const refreshed = await get(app, '/swr/1');
      expect(refreshed.headers['x-cache']).toBe('HIT');
      expect(refreshed.text).toBe('v2');
      // The background copy came from the client that caused it, as far as the app can tell.
      expect(refreshed.headers['x-ip']).toBe(first.headers['x-ip']);
      expect(refreshes).toBe(1);
    };

    const pastRevalidation = async (): Promise<void> => {
      const until = await stored(app, '/swr/2');
      await until(2150);
      const gone = await get(app, '/swr/2');
      expect(gone.headers['x-cache']).toBe('MISS');
    };

    const onError = async (id: string, failure: Reply, status: number): Promise<void> => {
      const until = await stored(app, `/sie/${id}`);
      await until(1100);
      // Expired, inside the window: a 5xx or a failed handler gets the stale copy instead,
      // with the stored headers only.
      failures[id] = failure;
      const instead = await get(app, `/sie/${id}`);
      expect(instead.status).toBe(200);
      expect(instead.headers['x-cache']).toBe('STALE');
      expect(instead.text).toBe('good');
      expect(instead.headers['x-good']).toBe('1');
      expect(instead.headers['x-failure']).toBeUndefined();
      await until(2150);
      expect((await get(app, `/sie/${id}`)).status).toBe(status);
    };

    const slowHandler = async (): Promise<void> => {
      const [untilSlow, untilFast] = await Promise.all([
        stored(app, '/slow/held'),
        stored(app, '/slow/quick'),
      ]);
      await Promise.all([untilSlow(1100), untilFast(1100)]);
      slowVersion = 2;
      // Expired, a stale copy at hand: a handler slower than `timeout` costs the request 200 ms,
      // then it gets the stale copy; the handler (run by a copy of the request) goes on and stores.
      const hold = { started: gate(), release: gate() };
      slowHolds.set('held', hold);
      const started = performance.now();
      const slow = await get(app, '/slow/held');
      expect(performance.now() - started).toBeLessThan(1000);
      expect(slow.headers['x-cache']).toBe('STALE');
      expect(slow.headers['cache-status']).toMatch(
        /^restash; hit; fwd=stale; ttl=-\d+; detail=timeout$/,
      );
      expect(slow.text).toBe('held:v1');
      await hold.started.promise;
      hold.release.open();
      await waitFor(
        async () => (await get(app, '/slow/held')).text === 'held:v2',
        1000,
        'the slow handler stored',
      );
      // A handler within `timeout`: the request gets what it answered.
      const quick = await get(app, '/slow/quick');
      expect(quick.text).toBe('quick:v2');
      expect(quick.headers['cache-status']).toMatch(/^restash; fwd=stale; collapsed; ttl=\d+$/);
    };

    const joinedFailure = async (): Promise<void> => {
      const until = await stored(app, '/sie/joined');
      await until(1100);
      // Requests that wait for a failing refresh get the stale copy too.
      failures.joined = { status: 500, text: 'down' };
      const hold = { started: gate(), release: gate() };
      sieHolds.set('joined', hold);
      const leader = get(app, '/sie/joined');
      await hold.started.promise;
      const follower = get(app, '/sie/joined');
      await sleep(50); // the follower is waiting for the leader
      hold.release.open();
      for (const answer of await Promise.all([leader, follower])) {
        expect(answer.headers['x-cache']).toBe('STALE');
        expect(answer.text).toBe('good');
      }
    };

    await Promise.all([
      joinedFailure(),
      revalidation(),
      pastRevalidation(),
      onError('500', { status: 503, headers: { 'X-Failure': 'yes' }, text: 'down' }, 503),
      onError('throw', { throws: true }, 500),
      slowHandler(),
    ]);
    expect(app.cache.stats().stale).toBe(7);
  }, 15_000);
});
