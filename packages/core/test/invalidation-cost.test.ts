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

test('a 10,000-entry tag is invalidated under load in steps: no command holds Redis for long', async () => {
  await times(10_000, 100, (i) => store.set(`big:${i}`, 'v', {}, 600, ['big', `item:${i}`]));
  // Judged inside Redis (SLOWLOG: execution time only), not by client timeouts, which a busy
  // test machine can cause on its own: the removal runs in several scripts, none of them long
  // (one script removing all 10,000 entries takes 60 ms or more).
  const admin = redis.admin();
  await admin.config('SET', 'slowlog-log-slower-than', '1000');
  await admin.config('SET', 'slowlog-max-len', '10000');
  await admin.slowlog('RESET');
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
  const slow = (await admin.slowlog('GET', -1)) as [number, number, number, string[]][];
  const steps = slow.filter(([, , , args]) => args.includes('big')).map(([, , micros]) => micros);
  expect(steps.length).toBeGreaterThanOrEqual(5);
  expect(Math.max(...steps)).toBeLessThan(100_000);
  await admin.config('SET', 'slowlog-log-slower-than', '10000');
  expect(errors.filter((err) => !/timed out/.test(String(err)))).toEqual([]);
});
