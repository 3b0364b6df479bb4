import { setTimeout as sleep } from 'node:timers/promises';
import { RedisCacheStore } from '@restash/core';
import { startRedis, waitFor, type RedisHandle } from '../../../test/harness';

// Invalidation on a Redis that runs out of memory, configured as production caches are: keys
// evicted under allkeys-lru / allkeys-random / volatile-lru, or writes refused under noeviction.
// Whatever Redis drops, an invalidated entry is never served again, by the writer or by another
// instance's local tier.

const HOT = 60;
const FILLER = 'x'.repeat(16 * 1024);

interface Setup {
  redis: RedisHandle;
  /** Reads through Redis (no local tier), so Redis's LRU sees the hot entries used. */
  reader: RedisCacheStore;
  /** Another app instance, serving from its local tier. */
  tracked: RedisCacheStore;
}

async function setUp(policy: string, maxmemory = '6mb'): Promise<Setup> {
  const redis = await startRedis({
    owned: true,
    args: ['--maxmemory', maxmemory, '--maxmemory-policy', policy, '--maxmemory-samples', '10'],
  });
  const options = { clientOpts: redis.options(), errorCallback: () => {} };
  return {
    redis,
    reader: new RedisCacheStore({ ...options, tracking: false }),
    tracked: new RedisCacheStore(options),
  };
}

async function tearDown({ redis, reader, tracked }: Setup): Promise<void> {
  await Promise.all([reader.close(), tracked.close()]);
  await redis.stop();
}

const hotKey = (i: number): string => `hot:${i}`;

async function readableHot(store: RedisCacheStore): Promise<number> {
  let found = 0;
  for (let i = 0; i < HOT; i++) if ((await store.get(hotKey(i))) !== undefined) found++;
  return found;
}

/** Writes `count` filler keys, pipelined. */
async function fill(setup: Setup, name: string, count: number, volatile: boolean): Promise<void> {
  const batch = setup.redis.admin().pipeline();
  for (let i = 0; i < count; i++) {
    if (volatile) batch.set(`${name}:${i}`, FILLER, 'EX', 600);
    else batch.set(`${name}:${i}`, FILLER);
  }
  await batch.exec();
}

async function evictedKeys(setup: Setup): Promise<number> {
  const info = await setup.redis.admin().info('stats');
  return Number(/evicted_keys:(\d+)/.exec(info)?.[1]);
}

/**
 * Makes Redis evict `target` keys while the hot entries are in use and their bookkeeping is not.
 * Redis's LRU clock ticks once a second, so: old filler and the bookkeeping first, a second later
 * the hot entries read, then new filler pushes the oldest keys out.
 */
async function evictColdKeys(setup: Setup, volatile: boolean, target: number): Promise<void> {
  await fill(setup, 'old', 192, volatile);
  await sleep(1100);
  await readableHot(setup.reader);
  for (let round = 0; (await evictedKeys(setup)) < target && round < 100; round++) {
    await fill(setup, `new:${round}`, 16, volatile);
  }
  expect(await evictedKeys(setup)).toBeGreaterThanOrEqual(target);
}

describe.each([
  // LRU keeps the hot entries and evicts the bookkeeping; random eviction spares neither, so it
  // evicts less (some hot entries must survive for the invalidation to have work to do).
  ['allkeys-lru', false, 150],
  ['allkeys-random', false, 40],
  ['volatile-lru', true, 150],
] as const)('maxmemory-policy %s', (policy, volatile, evictions) => {
  let setup: Setup;
  afterEach(async () => {
    await tearDown(setup);
  });

  test('an invalidation removes every entry of the tag, however much bookkeeping was evicted', async () => {
    let survivors = 0;
    // Random eviction may take a key every hot entry needs: then nothing survives to test, and
    // the scenario runs again on a fresh server.
    for (let attempt = 0; survivors === 0 && attempt < 4; attempt++) {
      if (attempt > 0) await tearDown(setup);
      setup = await setUp(policy);
      for (let i = 0; i < HOT; i++) {
        await setup.reader.set(hotKey(i), `v${i}`, {}, 600, ['hot', `item:${i}`]);
      }
      await evictColdKeys(setup, volatile, evictions);
      survivors = await readableHot(setup.reader);
    }
    const { reader, tracked } = setup;
    expect(survivors).toBeGreaterThan(policy === 'allkeys-random' ? 0 : HOT / 2);
    await readableHot(tracked); // another instance holds them in its local tier
    await sleep(50);

    await reader.invalidateTags(['hot']);

    expect(await readableHot(reader)).toBe(0);
    await waitFor(async () => (await readableHot(tracked)) === 0, 2000, 'local tier dropped');
    // Still a cache: a fresh write after the invalidation is served.
    await reader.set(hotKey(0), 'fresh', {}, 600, ['hot']);
    expect((await reader.get(hotKey(0)))?.value).toBe('fresh');
  });
});

describe('maxmemory-policy noeviction, memory full', () => {
  let setup: Setup;
  beforeEach(async () => {
    setup = await setUp('noeviction', '4mb');
  });
  afterEach(async () => {
    await tearDown(setup);
  });

  test('an invalidation still removes the entries, here and in other instances', async () => {
    const { redis, reader, tracked } = setup;
    for (let i = 0; i < HOT; i++) await reader.set(hotKey(i), `v${i}`, {}, 600, ['hot']);
    expect(await readableHot(tracked)).toBe(HOT);
    const admin = redis.admin();
    // Fill memory until Redis refuses writes.
    let full = false;
    for (let i = 0; !full && i < 2000; i++) {
      full = await admin.set(`filler:${i}`, FILLER).then(
        () => false,
        (err: Error) => /OOM/.test(err.message),
      );
    }
    expect(full).toBe(true);
    await expect(admin.set('probe', FILLER)).rejects.toThrow(/OOM/);

    await reader.invalidateTags(['hot']);

    expect(await readableHot(reader)).toBe(0);
    await waitFor(async () => (await readableHot(tracked)) === 0, 2000, 'local tier dropped');
  });
});
