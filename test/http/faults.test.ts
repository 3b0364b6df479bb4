import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../harness';
import {
  ADAPTERS,
  brokenStore,
  ProbeStore,
  call,
  forbidUnhandledRejections,
  get,
  storedCount,
  useEnvironment,
  type BuiltApp,
  type Kit,
  type RouteSpec,
} from './kit';

// Fail open: with Redis killed, paused, or a store that fails every call, routes answer from
// their handlers with bounded extra latency, errors go to onError, nothing becomes a 500 or an
// unhandled rejection. Also: what a hit costs in Redis commands.

const env = useEnvironment();
forbidUnhandledRejections();

/** Generous: the default command timeout is 250 ms and a miss makes at most two calls first. */
const BOUND_MS = 1500;

function routes(counter: { calls: number }): RouteSpec[] {
  return [
    {
      path: '/items',
      cache: { tags: ['items'] },
      handler: () => ({ json: { calls: ++counter.calls } }),
    },
    {
      path: '/items',
      method: 'post',
      invalidateOn: { tags: ['items'] },
      handler: () => ({ status: 201, text: 'created' }),
    },
  ];
}

/** Sends one GET and one POST; both must be answered by their handlers within the bound. */
async function expectServed(app: BuiltApp): Promise<void> {
  const started = performance.now();
  const read = await get(app, '/items');
  const readMs = performance.now() - started;
  expect(read.status).toBe(200);
  expect(['MISS', 'BYPASS']).toContain(read.headers['x-cache']);
  const writeStarted = performance.now();
  const write = await call(app, 'post', '/items');
  const writeMs = performance.now() - writeStarted;
  expect(write.status).toBe(201);
  expect(readMs).toBeLessThan(BOUND_MS);
  expect(writeMs).toBeLessThan(BOUND_MS);
}

async function build(kit: Kit, tracking: boolean, errors: unknown[]): Promise<BuiltApp> {
  return env.build(kit, {
    cache: { store: env.store('redis', { tracking }), onError: (err) => errors.push(err) },
    routes: routes({ calls: 0 }),
  });
}

describe.each(ADAPTERS)('%s', (name, kit) => {
  test('Redis killed: routes answer from their handlers, onError hears, caching resumes after', async () => {
    const errors: unknown[] = [];
    const app = await build(kit, true, errors);
    await get(app, '/items');
    await storedCount(app, 1);
    await env.redis().kill();
    try {
      for (let i = 0; i < 3; i++) await expectServed(app);
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      await env.redis().restart();
    }
    // Back: the pending invalidation lands, then the route stores and hits again.
    await waitFor(
      async () => (await get(app, '/items')).headers['x-cache'] === 'HIT',
      10_000,
      'a hit after the restart',
    );
  }, 20_000);

  test('Redis paused (CLIENT PAUSE): routes answer from their handlers within the bound', async () => {
    const errors: unknown[] = [];
    const app = await build(kit, false, errors);
    await get(app, '/items');
    await storedCount(app, 1);
    const pauseMs = 1200;
    await env.redis().admin().call('CLIENT', 'PAUSE', String(pauseMs), 'ALL');
    const paused = performance.now();
    await expectServed(app);
    expect(errors.length).toBeGreaterThan(0);
    await sleep(Math.max(0, pauseMs + 100 - (performance.now() - paused)));
  }, 10_000);

  test.each(['reject', 'throw'] as const)(
    'a store whose calls %s: routes and invalidate still work, onError hears',
    async (how) => {
      const errors: unknown[] = [];
      const app = await env.build(kit, {
        cache: { store: brokenStore(how), onError: (err) => errors.push(err) },
        routes: routes({ calls: 0 }),
      });
      for (let i = 0; i < 2; i++) await expectServed(app);
      await expect(
        app.cache.invalidate({ tags: ['items'], users: ['u'] }),
      ).resolves.toBeUndefined();
      expect(errors.length).toBeGreaterThan(0);
      expect(app.cache.stats().errors).toBe(errors.length);
    },
  );

  test('a failed invalidation holds back only the entries carrying its tags, until it lands', async () => {
    let down = true;
    const probe = new ProbeStore(env.store('redis', { tracking: false }));
    const inner = probe.inner;
    probe.invalidateTags = async (tags) => {
      if (down) throw new Error('Connection is closed.');
      return inner.invalidateTags(tags);
    };
    const errors: unknown[] = [];
    const app = await env.build(kit, {
      cache: { store: probe, onError: (err) => errors.push(err) },
      routes: ['a', 'b'].map((tag) => ({
        path: `/${tag}`,
        cache: { tags: [tag] },
        handler: () => ({ text: tag }),
      })),
    });
    await get(app, '/a');
    await get(app, '/b');
    await storedCount(app, 2);
    await app.cache.invalidate({ tags: ['a'] });
    expect(errors).toHaveLength(1);
    expect((await get(app, '/a')).headers['x-cache']).toBe('BYPASS');
    expect((await get(app, '/b')).headers['x-cache']).toBe('HIT');
    down = false;
    await waitFor(
      async () => (await get(app, '/a')).headers['x-cache'] === 'MISS',
      3000,
      'the retried invalidation landed',
    );
  });

  test('a hit costs one EVALSHA without tracking, none when warm with tracking', async () => {
    for (const tracking of [false, true]) {
      const app = await build(kit, tracking, []);
      await get(app, '/items');
      await storedCount(app, 1);
      if (tracking) {
        // Warm: hits until one is served by the local tier (tracking is set up asynchronously).
        await waitFor(
          async () => {
            const before = (await env.redis().commandStats()).evalsha ?? 0;
            await get(app, '/items');
            return ((await env.redis().commandStats()).evalsha ?? 0) === before;
          },
          5000,
          'a hit from the local tier',
        );
      }
      await env.redis().resetStats();
      const hits = 10;
      for (let i = 0; i < hits; i++)
        expect((await get(app, '/items')).headers['x-cache']).toBe('HIT');
      const stats = await env.redis().commandStats();
      expect(stats.evalsha ?? 0).toBe(tracking ? 0 : hits);
      // Nothing else went to Redis from the hit path (the rest is the script's own reads, the
      // stats reset, and the tracker's health checks).
      const allowed = [
        'evalsha',
        'hmget',
        'get',
        'strlen',
        'pttl',
        'config|resetstat',
        'ping',
        'client|trackinginfo',
      ];
      expect(Object.keys(stats).filter((c) => !allowed.includes(c))).toEqual([]);
      if (!tracking) expect(stats.hmget).toBe(hits);
      await app.close();
    }
  });
});
