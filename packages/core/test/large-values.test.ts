import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisCacheStore } from '@restash/core';
import { startRedis, type RedisHandle } from '../../../test/harness';

// A value over 16 KB leaves the get script as an id and comes by a plain GET (Lua copying a
// large string in and out costs Redis more than the second round trip); smaller ones stay inline.

let redis: RedisHandle;
let client: Redis;
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
  client = new Redis(redis.options());
  store = new RedisCacheStore({ client, tracking: false, errorCallback: (e) => errors.push(e) });
});
afterEach(async () => {
  await store.close();
  client.disconnect();
});

test.each([
  ['2 KB', 'inside the script', 2048, [['evalsha']]],
  ['200 KB', 'the script, then a plain GET', 200 * 1024, [['evalsha'], ['get']]],
])('a %s value round-trips byte for byte (%s)', async (_size, _how, size, sent) => {
  const value = randomBytes(size);
  await store.set('k', value, { n: 1 }, 60, ['t']);
  await store.get('absent'); // the script is loaded
  const monitor = await redis.monitor();
  const entry = await store.get('k');
  const commands = (await monitor.commands()).map(([name]) => [name]);
  await monitor.stop();
  expect(Buffer.compare(entry!.value as Buffer, value)).toBe(0);
  expect(entry!.metadata).toEqual({ n: 1 });
  expect(commands).toEqual(sent);
  expect(errors).toEqual([]);
});

// valueNeeded: a caller the metadata answers (an HTTP 304) costs no value transfer; one that
// needs the value after all gets it with a plain GET.
test.each([
  ['2 KB', 2048],
  ['200 KB', 200 * 1024],
])('a %s value left unread by valueNeeded, or read by a plain GET', async (_size, size) => {
  const value = randomBytes(size);
  await store.set('k', value, { etag: 'a' }, 60, ['t']);
  await store.get('absent'); // the script is loaded
  const seen: unknown[] = [];
  const everything = await redis.monitor({ scripts: true });
  const unread = await store.getOrLease('k', ['t'], {
    valueNeeded: (metadata) => (seen.push(metadata), false),
  });
  const read = (await everything.commands()).filter((args) =>
    args.some((a) => a.includes('values:')),
  );
  await everything.stop();
  const monitor = await redis.monitor();
  const whole = await store.getOrLease('k', ['t'], { valueNeeded: () => true });
  const sent = (await monitor.commands()).map(([name]) => name);
  await monitor.stop();
  expect(seen).toEqual([{ etag: 'a' }]);
  expect(unread.entry).toEqual({
    value: Buffer.alloc(0),
    metadata: { etag: 'a' },
    withoutValue: true,
  });
  expect(read).toEqual([]);
  expect(Buffer.compare(whole.entry!.value as Buffer, value)).toBe(0);
  expect(whole.entry!.withoutValue).toBeUndefined();
  expect(sent).toEqual(['evalsha', 'get']);
  expect(errors).toEqual([]);
});

// Value ids are never reused: an entry read whole once is read again by its id, and only while
// it is still the one stored does its value stay in Redis.
test.each([
  ['2 KB', 2048],
  ['200 KB', 200 * 1024],
])('a %s entry read before comes back without its value, until replaced', async (_size, size) => {
  const value = randomBytes(size);
  await store.set('k', value, { v: 1 }, 60, ['t']);
  const first = await store.get('k');
  const everything = await redis.monitor({ scripts: true });
  const again = await store.get('k');
  const read = (await everything.commands()).filter((args) =>
    args.some((a) => a.includes('values:')),
  );
  await everything.stop();
  expect(read).toEqual([]);
  expect(again).toBe(first);
  await store.set('k', 'new', { v: 2 }, 60, ['t']);
  expect(await store.get('k')).toEqual({ value: 'new', metadata: { v: 2 } });
  await store.invalidateTags(['t']);
  expect(await store.get('k')).toBeUndefined();
  expect(errors).toEqual([]);
});

test('a large value gone between the script and the GET: read again, a miss with a lease', async () => {
  await store.set('k', Buffer.alloc(100_000, 1), {}, 60, ['t']);
  // Evicted (or replaced) in between: the GET finds nothing, the second read finds the entry
  // broken, removes it and leases.
  const getBuffer = client.getBuffer.bind(client);
  let calls = 0;
  client.getBuffer = (async (key: Buffer) => {
    if (calls++ === 0) await client.del(key);
    return getBuffer(key);
  }) as typeof client.getBuffer;
  const found = await store.getOrLease('k', ['t']);
  expect(found.entry).toBeUndefined();
  expect(found.lease).toBeDefined();
  expect(await store.setLeased(found.lease!, 'fresh', {}, 60, ['t'])).toBe(true);
  expect((await store.get('k'))?.value).toBe('fresh');
});

describe('a large value is written by a plain SET, then the script', () => {
  const value = Buffer.alloc(100_000, 7);
  const valueKeys = async () => (await redis.admin().keys('values:*')).sort();

  test('two commands; the value key ends with the entry’s TTL, or none', async () => {
    await store.set('warm', 'v', {}, 60); // the script is loaded
    const monitor = await redis.monitor();
    await store.set('k', value, { n: 1 }, 60, ['t']);
    const commands = (await monitor.commands()).map(([name]) => name);
    await monitor.stop();
    expect(commands).toEqual(['set', 'evalsha']);
    expect(Buffer.compare((await store.get('k'))!.value as Buffer, value)).toBe(0);
    await store.set('forever', value, {}, undefined);
    const ttls = await Promise.all((await valueKeys()).map((k) => redis.admin().pttl(k)));
    // 'warm' and 'k' expire in 60 s, as their metadata does; 'forever' does not expire.
    expect(ttls.filter((t) => t === -1)).toHaveLength(1);
    expect(ttls.filter((t) => t > 50_000 && t <= 60_000)).toHaveLength(2);
    expect(errors).toEqual([]);
  });

  test('a write its lease refuses leaves no value behind', async () => {
    const { lease } = await store.getOrLease('k', ['t']);
    await store.invalidateTags(['t']);
    const before = await valueKeys();
    expect(await store.setLeased(lease!, value, {}, 60, ['t'])).toBe(false);
    expect(await valueKeys()).toEqual(before);
    expect(await store.get('k')).toBeUndefined();
  });
});
