import { RedisCacheStore } from '@restash/core';
import { startRedis, waitFor, type RedisHandle } from '../../../test/harness';

// clientOpts.enableAutoPipelining: true is supported. ioredis crashes the process on call() and
// callBuffer() under it (`commandName.toLowerCase is not a function`), so the store sends its
// scripts and tracking commands by their own names.

let redis: RedisHandle;
let errors: unknown[];
const stores: RedisCacheStore[] = [];

const store = (tracking: boolean): RedisCacheStore => {
  const made = new RedisCacheStore({
    clientOpts: { ...redis.options(), enableAutoPipelining: true },
    tracking,
    errorCallback: (err) => errors.push(err),
  });
  stores.push(made);
  return made;
};

beforeAll(async () => {
  redis = await startRedis({ owned: true });
});
afterAll(async () => {
  await redis.stop();
});
beforeEach(async () => {
  await redis.flush();
  errors = [];
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

test.each([false, true])(
  'reads, writes, leases and invalidations work (tracking %s)',
  async (tracking) => {
    const [a, b] = [store(tracking), store(tracking)];
    await a.set('k', Buffer.alloc(50_000, 1), { n: 1 }, 60, ['t']); // a large value: a plain SET
    await a.set('small', 'v', {}, 60, ['t']);
    const reads = await Promise.all([1, 2, 3, 4].map(() => b.get('small'))); // pipelined together
    expect(reads.map((entry) => entry?.value)).toEqual(['v', 'v', 'v', 'v']);
    expect((await b.get('k'))?.metadata).toEqual({ n: 1 });
    if (tracking) {
      // Once tracking is set up, a read keeps a local copy.
      const local = async () =>
        (await b.get('small')) !== undefined && b.peek('small') !== undefined;
      await waitFor(local, 3000, 'a local copy');
    }
    const { lease } = await a.getOrLease('other', ['t']);
    expect(await a.setLeased(lease!, 'o', {}, 60, ['t'])).toBe(true);
    expect(await a.invalidateTags(['t'])).toBe(3);
    await waitFor(async () => (await b.get('small')) === undefined, 3000, 'the invalidation');
    expect(errors).toEqual([]);
  },
);
