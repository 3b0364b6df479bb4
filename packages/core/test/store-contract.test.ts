import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryCacheStore, RedisCacheStore, type CacheStore } from '@restash/core';
import {
  startRedis,
  startRedisCluster,
  type ClusterHandle,
  type RedisHandle,
} from '../../../test/harness';

// One contract, two stores: every behaviour here holds for the in-memory default, for Redis and
// for a Redis Cluster (3 masters, tracking on as by default).

type Factory = {
  name: string;
  make(opts?: { maxEntrySize?: number }): CacheStore;
  /** Empties the backend before each test. */
  flush(): Promise<void>;
};

let redis: RedisHandle;
let cluster: ClusterHandle;
const errors: unknown[] = [];

beforeAll(async () => {
  [redis, cluster] = await Promise.all([startRedis(), startRedisCluster({ masters: 3 })]);
});
afterAll(async () => {
  await Promise.all([redis?.stop(), cluster?.stop()]);
});

const factories: Factory[] = [
  { name: 'MemoryCacheStore', make: (opts) => new MemoryCacheStore(opts), flush: async () => {} },
  {
    name: 'RedisCacheStore',
    make: (opts) =>
      new RedisCacheStore({
        clientOpts: redis.options({ keyPrefix: redis.keyPrefix }),
        errorCallback: (err) => errors.push(err),
        ...opts,
      }),
    flush: () => redis.flush(),
  },
  {
    name: 'RedisCacheStore on a cluster',
    make: (opts) =>
      new RedisCacheStore({
        cluster: { nodes: cluster.startupNodes, options: { keyPrefix: cluster.keyPrefix } },
        errorCallback: (err) => errors.push(err),
        ...opts,
      }),
    flush: () => cluster.flush(),
  },
];

describe.each(factories)('$name contract', ({ make, flush }) => {
  let store: CacheStore;
  beforeEach(async () => {
    await flush();
    errors.length = 0;
    store = make();
  });
  afterEach(async () => {
    await store.close();
    expect(errors).toEqual([]);
  });

  test('a missing key is a miss', async () => {
    expect(await store.get('absent')).toBeUndefined();
  });

  test('strings come back as strings and Buffers as byte-exact Buffers', async () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await store.set('s', 'héllo ✓', { a: 1 });
    await store.set('b', bytes, { b: 2 });
    expect(await store.get('s')).toEqual({ value: 'héllo ✓', metadata: { a: 1 } });
    const b = await store.get('b');
    expect(Buffer.isBuffer(b?.value)).toBe(true);
    expect(Buffer.compare(b!.value as Buffer, bytes)).toBe(0);
    expect(b?.metadata).toEqual({ b: 2 });
  });

  test('metadata defaults to {} and an overwrite replaces value and metadata', async () => {
    await store.set('k', 'one');
    expect(await store.get('k')).toEqual({ value: 'one', metadata: {} });
    await store.set('k', Buffer.from('two'), { v: 2 });
    expect(await store.get('k')).toEqual({ value: Buffer.from('two'), metadata: { v: 2 } });
  });

  test('ttl expires entries; no ttl means no expiry', async () => {
    await store.set('short', 'x', {}, 1);
    await store.set('forever', 'y');
    expect(await store.get('short')).toBeDefined();
    await sleep(1100);
    expect(await store.get('short')).toBeUndefined();
    expect(await store.get('forever')).toBeDefined();
  });

  test('ttl 0 removes the entry: it expires at once', async () => {
    await store.set('k', 'x');
    await store.set('k', 'y', {}, 0);
    expect(await store.get('k')).toBeUndefined();
  });

  test.each([-1, 1.5, '10', NaN])('ttl %p is rejected with a TypeError naming ttl', async (ttl) => {
    await expect(store.set('k', 'x', {}, ttl as number)).rejects.toThrow(TypeError);
    await expect(store.set('k', 'x', {}, ttl as number)).rejects.toThrow(/ttl/);
  });

  test('malformed arguments are TypeErrors', async () => {
    await expect(store.get(1 as unknown as string)).rejects.toThrow(/key must be a string/);
    await expect(store.set('k', 5 as unknown as string)).rejects.toThrow(
      /value must be a string or a Buffer/,
    );
    await expect(store.set('k', 'x', {}, 1, 'tag' as unknown as string[])).rejects.toThrow(/tags/);
    await expect(store.invalidateTags('tag' as unknown as string[])).rejects.toThrow(/tags/);
  });

  test('an entry over maxEntrySize (bytes, value plus metadata) is rejected', async () => {
    const small = make({ maxEntrySize: 64 });
    try {
      await small.set('fits', 'é'.repeat(20), {}); // 40 bytes + "{}"
      await expect(small.set('big', 'é'.repeat(40), {})).rejects.toMatchObject({
        code: 'ERR_RESTASH_ENTRY_TOO_LARGE',
        size: 82,
      });
      expect(await small.get('big')).toBeUndefined();
      expect(await small.get('fits')).toBeDefined();
    } finally {
      await small.close();
    }
  });

  test('delete removes an entry and resolves for a missing key', async () => {
    await store.set('k', 'x');
    await store.delete('k');
    expect(await store.get('k')).toBeUndefined();
    await expect(store.delete('never-there')).resolves.toBeUndefined();
  });

  test('invalidateTags removes exactly the tagged entries and counts them once', async () => {
    await store.set('a', '1', {}, 60, ['red', 'blue']);
    await store.set('b', '2', {}, 60, ['red']);
    await store.set('c', '3', {}, 60, ['green']);
    expect(await store.invalidateTags(['red', 'blue'])).toBe(2);
    expect(await store.get('a')).toBeUndefined();
    expect(await store.get('b')).toBeUndefined();
    expect(await store.get('c')).toBeDefined();
    expect(await store.invalidateTags(['red'])).toBe(0);
    expect(await store.invalidateTags([])).toBe(0);
  });

  test('tags match exactly: glob and separator characters are plain characters', async () => {
    const tags = ['p*', 'p?', 'p[a]', 'p:1', 'pa', 'p'];
    for (const tag of tags) await store.set(`key-${tag}`, tag, {}, 60, [tag]);
    for (const tag of tags) {
      expect(await store.invalidateTags([tag])).toBe(1);
      expect(await store.get(`key-${tag}`)).toBeUndefined();
    }
  });

  // Tags, user ids and keys come from requests: any JavaScript string is a valid one, matched
  // exactly (lone surrogates included, which UTF-8 cannot carry and Lua's cjson rejects).
  const ODD = [
    '\ud800',
    '\udbff',
    'a\ud800b',
    '\u0000nul',
    '*?[]:{}',
    '{0}',
    '"quoted"',
    'é',
    'x'.repeat(10_000),
  ];

  test('any string is a tag, matched exactly, and an odd tag never costs its siblings', async () => {
    for (const [i, tag] of ODD.entries()) await store.set(`k${i}`, `v${i}`, {}, 60, [tag]);
    await store.set('plain', 'p', {}, 60, ['good']);
    expect(await store.invalidateTags(['\ud800', 'good'])).toBe(2);
    expect(await store.get('k0')).toBeUndefined();
    expect(await store.get('plain')).toBeUndefined();
    // '\udbff' is another tag, though UTF-8 would turn both into U+FFFD.
    for (let i = 1; i < ODD.length; i++) expect((await store.get(`k${i}`))?.value).toBe(`v${i}`);
    expect(await store.invalidateTags(ODD.slice(1))).toBe(ODD.length - 1);
    for (let i = 1; i < ODD.length; i++) expect(await store.get(`k${i}`)).toBeUndefined();
  });

  test('any string is a key, and distinct strings are distinct keys', async () => {
    // UTF-8 turns both lone surrogates into U+FFFD; these two also share a Redis bucket.
    const keys = [...ODD, '\ud8000', '\udc000'];
    for (const [i, key] of keys.entries()) await store.set(key, `v${i}`, {}, 60, ['odd']);
    for (const [i, key] of keys.entries()) expect((await store.get(key))?.value).toBe(`v${i}`);
    await store.delete('\ud8000');
    expect(await store.get('\ud8000')).toBeUndefined();
    expect((await store.get('\udc000'))?.value).toBe(`v${keys.length - 1}`);
    expect(await store.invalidateTags(['odd'])).toBe(keys.length - 1);
  });

  test('an overwrite drops the old tags', async () => {
    await store.set('k', 'old', {}, 60, ['old-tag']);
    await store.set('k', 'new', {}, 60, ['new-tag']);
    expect(await store.invalidateTags(['old-tag'])).toBe(0);
    expect(await store.get('k')).toEqual({ value: 'new', metadata: {} });
    expect(await store.invalidateTags(['new-tag'])).toBe(1);
  });

  test('a lease stores when nothing it carries was invalidated meanwhile', async () => {
    const lease = await store.lease('k', ['t']);
    await store.invalidateTags(['unrelated']);
    expect(await store.setLeased(lease, 'v', { m: 1 }, 60, ['t'])).toBe(true);
    expect(await store.get('k')).toEqual({ value: 'v', metadata: { m: 1 } });
  });

  test('a lease is refused when one of its tags was invalidated after it was taken', async () => {
    await store.set('k', 'before', {}, 60, ['t']);
    const lease = await store.lease('k', ['other', 't']);
    await store.invalidateTags(['t']); // the write lands while the value is being computed
    expect(await store.setLeased(lease, 'stale', {}, 60, ['other', 't'])).toBe(false);
    expect(await store.get('k')).toBeUndefined();
    const fresh = await store.lease('k', ['t']);
    expect(await store.setLeased(fresh, 'fresh', {}, 60, ['t'])).toBe(true);
  });

  test('an invalidation before the lease does not refuse it', async () => {
    await store.invalidateTags(['t']);
    const lease = await store.lease('k', ['t']);
    expect(await store.setLeased(lease, 'v', {}, 60, ['t'])).toBe(true);
  });

  test('getOrLease answers the entry on a hit and a lease on a miss', async () => {
    await store.set('k', 'v', {}, 60, ['t']);
    const hit = await store.getOrLease('k', ['t']);
    expect(hit).toEqual({ entry: { value: 'v', metadata: {} }, lease: undefined });
    const miss = await store.getOrLease('absent', ['t']);
    expect(miss.entry).toBeUndefined();
    await store.invalidateTags(['unrelated']);
    expect(await store.setLeased(miss.lease!, 'new', {}, 60, ['t'])).toBe(true);
    const raced = await store.getOrLease('raced', ['t']);
    await store.invalidateTags(['t']);
    expect(await store.setLeased(raced.lease!, 'stale', {}, 60, ['t'])).toBe(false);
  });

  test('getOrLease with lock: a miss takes the fill lock, the next one finds it busy', async () => {
    const plain = await store.getOrLease('k', ['t']);
    expect(plain.lock).toBeUndefined();
    const first = await store.getOrLease('k', ['t'], { lock: 1000 });
    expect(first.lock).toEqual({ state: 'taken' });
    const second = await store.getOrLease('k', ['t'], { lock: 1000 });
    expect(second.lock).toEqual({
      state: 'busy',
      holder: expect.any(String),
      expiresIn: expect.any(Number),
    });
    const { expiresIn } = second.lock as { expiresIn: number };
    expect(expiresIn).toBeGreaterThan(900);
    expect(expiresIn).toBeLessThanOrEqual(1000);
    // The holder stores: the lock goes with it (a later miss takes it again).
    expect(await store.setLeased(first.lease!, 'v', {}, 60, ['t'])).toBe(true);
    await store.release!(first.lease!); // nothing left to release
    expect((await store.getOrLease('k', ['t'], { lock: 1000 })).entry?.value).toBe('v');
    await store.delete('k');
    expect((await store.getOrLease('k', ['t'], { lock: 1000 })).lock).toEqual({ state: 'taken' });
  });

  test('lease with lock takes the fill lock over a stored entry (a refresh)', async () => {
    await store.set('k', 'old', {}, 60, ['t']);
    expect((await store.lease('k', ['t'])).fillLock).toBeUndefined();
    const first = await store.lease('k', ['t'], { lock: 1000 });
    expect(first.fillLock).toEqual({ state: 'taken' });
    const second = await store.lease('k', ['t'], { lock: 1000 });
    expect(second.fillLock).toMatchObject({ state: 'busy' });
    // The refresh stores: the lock goes with it.
    expect(await store.setLeased(first, 'new', {}, 60, ['t'])).toBe(true);
    expect((await store.lease('k', ['t'], { lock: 1000 })).fillLock).toEqual({ state: 'taken' });
    await expect(store.lease('k', [], { lock: 0 })).rejects.toThrow(TypeError);
  });

  test('a refused setLeased releases the fill lock too', async () => {
    const first = await store.getOrLease('k', ['t'], { lock: 1000 });
    await store.invalidateTags(['t']);
    expect(await store.setLeased(first.lease!, 'stale', {}, 60, ['t'])).toBe(false);
    expect((await store.getOrLease('k', ['t'], { lock: 1000 })).lock).toEqual({ state: 'taken' });
  });

  test('release without a value leaves a passed marker; a lock expires on its own', async () => {
    const first = await store.getOrLease('k', [], { lock: 1000 });
    await store.release!(first.lease!);
    expect((await store.getOrLease('k', [], { lock: 1000 })).lock).toEqual({ state: 'passed' });
    const other = await store.getOrLease('k2', [], { lock: 100 });
    expect(other.lock).toEqual({ state: 'taken' });
    await sleep(150); // its holder died
    expect((await store.getOrLease('k2', [], { lock: 100 })).lock).toEqual({ state: 'taken' });
    // The first holder's release comes too late: the lock is the new holder's.
    await store.release!(other.lease!);
    expect((await store.getOrLease('k2', [], { lock: 100 })).lock).toMatchObject({ state: 'busy' });
    await expect(store.getOrLease('k', [], { lock: 0 })).rejects.toThrow(TypeError);
  });

  test('a lease from another store is a TypeError: only its issuer can judge it', async () => {
    const other = make();
    try {
      const foreign = await other.lease('k');
      await expect(store.setLeased(foreign, 'v')).rejects.toThrow(/not issued by this store/);
      await expect(store.release!(foreign)).rejects.toThrow(/not issued by this store/);
    } finally {
      await other.close();
    }
  });

  test('close is idempotent and later calls reject saying the store is closed', async () => {
    const plain = await store.lease('k');
    const locked = (await store.getOrLease('k', [], { lock: 1000 })).lease!;
    await store.close();
    await expect(store.release!(plain)).resolves.toBeUndefined(); // nothing to release
    await expect(store.release!(locked)).rejects.toThrow(/closed/);
    await store.close();
    await expect(store.get('k')).rejects.toThrow(/closed/);
    await expect(store.set('k', 'v')).rejects.toThrow(/closed/);
    await expect(store.delete('k')).rejects.toThrow(/closed/);
    await expect(store.invalidateTags(['t'])).rejects.toThrow(/closed/);
    await expect(store.lease('k')).rejects.toThrow(/closed/);
  });
});
