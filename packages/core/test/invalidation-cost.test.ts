import { RedisCacheStore } from '@restash/core';
import { startRedis, type RedisHandle } from '../../../test/harness';

// What an invalidation costs: scripts run and keys left behind grow with the entries it removes,
// not with how many misses the app had lately; a large tag completes within command timeouts.

let redis: RedisHandle;
let store: RedisCacheStore;
let errors: unknown[];

beforeAll(async () => {
  redis = await startRedis({ owned: true });
});
afterAll(async () => {
  await redis.stop();
});
beforeEach(async () => {
  await redis.flush();
  errors = [];
  store = new RedisCacheStore({
    clientOpts: redis.options(),
    tracking: false,
    errorCallback: (err) => errors.push(err),
  });
});
afterEach(async () => {
  await store.close();
});

/** Runs `task(i)` for i < n, `concurrency` at a time. */
async function times(n: number, concurrency: number, task: (i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

const scripts = async (): Promise<number> => {
  const stats = await redis.commandStats();
  return (stats.evalsha ?? 0) + (stats.eval ?? 0);
};

test('after thousands of misses, a one-entry invalidation is one script and leaves no keys', async () => {
  await times(3000, 50, (i) => store.lease(`miss:${i}`)); // a miss takes a lease
  await store.set('one', 'v', {}, 60, ['one']);
  const keysBefore = await redis.admin().dbsize();
  await redis.resetStats();
  expect(await store.invalidateTags(['one'])).toBe(1);
  expect(await scripts()).toBeLessThanOrEqual(2);
  expect(await redis.admin().dbsize()).toBeLessThan(keysBefore);
  expect(errors).toEqual([]);
});

test('a 10,000-entry tag is invalidated under load without a command timing out', async () => {
  await times(10_000, 100, (i) => store.set(`big:${i}`, 'v', {}, 600, ['big', `item:${i}`]));
  let loading = true;
  const load = Promise.all(
    Array.from({ length: 20 }, async () => {
      for (let i = 0; loading; i++) await store.get(`big:${i % 10_000}`);
    }),
  );
  try {
    expect(await store.invalidateTags(['big'])).toBe(10_000);
  } finally {
    loading = false;
    await load;
  }
  expect(await store.get('big:7')).toBeUndefined();
  expect(errors).toEqual([]);
});
