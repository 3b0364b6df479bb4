import { setTimeout as sleep } from 'node:timers/promises';
import { RedisCacheStore } from '@restash/core';
import { startRedis, waitFor, type RedisHandle } from '../../../test/harness';
import { TcpProxy } from '../../../test/harness/tcp-proxy';

// The local tier: two stores on one real server, coherence through CLIENT TRACKING. A warm get
// costs no Redis command, so "served locally" is observed as "no EVALSHA was counted".

let redis: RedisHandle;
const stores: RedisCacheStore[] = [];
let errors: unknown[];

function makeStore(
  options: ConstructorParameters<typeof RedisCacheStore>[0] = {},
): RedisCacheStore {
  const store = new RedisCacheStore({
    clientOpts: redis.options(),
    errorCallback: (err) => errors.push(err),
    ...options,
  });
  stores.push(store);
  return store;
}

/** Resolves once `count` tracking redirects are set up on the server. */
async function trackingReady(count = 1): Promise<void> {
  await waitFor(async () => {
    const clients = String(await redis.admin().client('LIST'));
    return (
      (clients.match(/flags=t\S* /g) ?? []).length >= count &&
      !/redir=-1/.test(
        clients
          .split('\n')
          .filter((l) => l.includes('flags=t'))
          .join('\n'),
      )
    );
  });
}

async function evalshaCount(): Promise<number> {
  return (await redis.commandStats()).evalsha ?? 0;
}

/** Whether `store.get(key)` answers `value` without a Redis command (from the local tier). */
async function servedLocally(store: RedisCacheStore, key: string, value: string): Promise<boolean> {
  const before = await evalshaCount();
  return (await store.get(key))?.value === value && (await evalshaCount()) === before;
}

/** Asserts the local tier answers `value` now. */
async function expectLocal(store: RedisCacheStore, key: string, value: string): Promise<void> {
  expect(await servedLocally(store, key, value)).toBe(true);
}

/**
 * Waits until the local tier answers `value`. After a write, the invalidation message for it may
 * arrive after a read that already saw the new value and drop that copy: correct, but it means
 * the copy that sticks is the one filled after the message.
 */
async function untilLocal(store: RedisCacheStore, key: string, value: string): Promise<void> {
  await waitFor(() => servedLocally(store, key, value));
}

beforeAll(async () => {
  redis = await startRedis({ owned: true });
});
afterAll(async () => {
  await redis.stop();
});
beforeEach(async () => {
  await redis.flush();
  await redis.resetStats();
  errors = [];
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

test('warm gets cost zero Redis commands, cold gets one round trip', async () => {
  const a = makeStore();
  await trackingReady();
  await a.set('k', 'v');
  await a.get('warm-up'); // loads the get script: the first get of a process may need EVAL
  await redis.resetStats();
  await a.get('k'); // cold
  for (let i = 0; i < 100; i++) await a.get('k'); // warm
  const stats = await redis.commandStats();
  expect(stats.evalsha).toBe(1);
  expect(stats.eval).toBeUndefined();
  expect(Object.keys(stats).filter((name) => name.startsWith('client'))).toEqual([]);
});

test('writes, overwrites, deletes and tag invalidations through A reach B', async () => {
  const a = makeStore();
  const b = makeStore();
  await trackingReady(2);
  await a.set('k', 'v1', {}, 60, ['t']);
  // B's tracker may still be settling in on a busy machine: its first read is then not kept.
  await untilLocal(b, 'k', 'v1');

  await a.set('k', 'v2', {}, 60, ['t']);
  await untilLocal(b, 'k', 'v2');

  await a.delete('k');
  await waitFor(async () => (await b.get('k')) === undefined);

  await a.set('k', 'v3', {}, 60, ['t']);
  await untilLocal(b, 'k', 'v3');
  expect(await a.invalidateTags(['t'])).toBe(1);
  await waitFor(async () => (await b.get('k')) === undefined);
  expect(errors).toEqual([]);
});

test('nothing is filled locally before tracking is confirmed', async () => {
  const a = makeStore({ tracking: false });
  await a.set('k', 'v');
  const b = makeStore();
  // Right after construction tracking is not set up yet: reads go to Redis and are not kept.
  await b.get('k');
  const before = await evalshaCount();
  await b.get('k');
  expect(await evalshaCount()).toBe(before + 1);
  await trackingReady();
  // The server shows tracking on before the store has read its reply: wait for the store too.
  await untilLocal(b, 'k', 'v');
});

test('a read whose reply arrives after the invalidation does not fill the local tier', async () => {
  const proxy = await TcpProxy.start({ host: redis.host, port: redis.port });
  try {
    const a = makeStore();
    const b = makeStore({ clientOpts: { ...redis.options(), port: proxy.port } });
    await trackingReady(2);
    await a.set('k', 'old');
    // Hold B's tracked reader replies: B's read executes (and is tracked) but its reply waits.
    const reader = proxy.byName('restash:reader')!;
    reader.held = true;
    const read = b.get('k');
    await sleep(50);
    await a.set('k', 'new'); // Redis sends B the invalidation now, before the held reply
    await sleep(100);
    reader.release();
    expect((await read)?.value).toBe('old'); // the raced read itself may answer the old value
    const before = await evalshaCount();
    expect((await b.get('k'))?.value).toBe('new'); // but it was not kept
    expect(await evalshaCount()).toBe(before + 1);
  } finally {
    await proxy.close();
  }
});

test("a store's own writes reach its own next get before Redis's invalidation does", async () => {
  const proxy = await TcpProxy.start({ host: redis.host, port: redis.port });
  try {
    const a = makeStore({ clientOpts: { ...redis.options(), port: proxy.port } });
    await trackingReady();
    await a.set('k', 'v1', {}, 60, ['t']);
    await untilLocal(a, 'k', 'v1');
    // Hold back the invalidation messages: only the store itself can drop its local copy now.
    const invalidations = proxy.byName('restash:invalidations')!;
    invalidations.held = true;
    await a.set('k', 'v2', {}, 60, ['t']);
    expect((await a.get('k'))?.value).toBe('v2');
    await a.delete('k');
    expect(await a.get('k')).toBeUndefined();
    await a.set('k', 'v3', {}, 60, ['t']);
    expect((await a.get('k'))?.value).toBe('v3');
    expect(await a.invalidateTags(['t'])).toBe(1);
    expect(await a.get('k')).toBeUndefined();
    invalidations.release();
  } finally {
    await proxy.close();
  }
});

test('local entries never outlive their Redis TTL', async () => {
  const debuggable = await startRedis({ owned: true, args: ['--enable-debug-command', 'local'] });
  try {
    // No active expiry, so no invalidation message at expiry: only the local TTL can act.
    await debuggable.admin().debug('SET-ACTIVE-EXPIRE', 0);
    const a = new RedisCacheStore({
      clientOpts: debuggable.options(),
      errorCallback: (err) => errors.push(err),
    });
    stores.push(a);
    await waitFor(async () => (await debuggable.commandStats())['client|tracking'] === 2);
    await a.set('k', 'v', {}, 1);
    await a.get('k');
    expect(await a.get('k')).toBeDefined();
    const before = (await debuggable.commandStats()).evalsha;
    await a.get('k');
    expect((await debuggable.commandStats()).evalsha).toBe(before); // served locally
    await sleep(1100);
    expect(await a.get('k')).toBeUndefined();
  } finally {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await debuggable.stop();
  }
});

test('the local tier is bounded by maxCount and maxSize', async () => {
  const byCount = makeStore({ maxCount: 2 });
  const bySize = makeStore({ maxSize: 100 });
  await trackingReady(2);
  for (const key of ['a', 'b', 'c']) await byCount.set(key, 'x'.repeat(60));
  for (const key of ['a', 'b', 'c']) await byCount.get(key);
  await expectLocal(byCount, 'c', 'x'.repeat(60));
  let before = await evalshaCount();
  await byCount.get('a'); // evicted: the oldest of three with room for two
  expect(await evalshaCount()).toBe(before + 1);

  for (const key of ['a', 'b']) await bySize.get(key);
  await expectLocal(bySize, 'b', 'x'.repeat(60));
  before = await evalshaCount();
  await bySize.get('a'); // two 62-byte entries do not fit in 100 bytes
  expect(await evalshaCount()).toBe(before + 1);
});

test.each(['FLUSHALL', 'FLUSHDB'])('%s flushes the local tier', async (command) => {
  const a = makeStore();
  await trackingReady();
  await a.set('k', 'v');
  await a.get('k');
  await expectLocal(a, 'k', 'v');
  await redis.admin().call(command);
  await waitFor(async () => (await a.get('k')) === undefined);
  await a.set('k', 'again');
  await untilLocal(a, 'k', 'again');
});

test.each(['restash:reader', 'restash:invalidations'])(
  'killing the %s connection flushes the local tier and tracking comes back with the new client id',
  async (name) => {
    const a = makeStore();
    await trackingReady();
    await a.set('k', 'v');
    await a.get('k');
    await expectLocal(a, 'k', 'v');
    const old = await clientsByName();
    await redis.admin().client('KILL', 'ID', old[name]!.id);
    // Nothing vouches for the local copy any more: the next get goes to Redis.
    await waitFor(async () => {
      const before = await evalshaCount();
      await a.get('k');
      return (await evalshaCount()) > before;
    });
    await waitFor(async () => {
      const now = await clientsByName();
      return (
        now[name]?.id !== old[name]!.id &&
        now['restash:reader']?.redir === now['restash:invalidations']?.id
      );
    });
    await untilLocal(a, 'k', 'v');
  },
);

test('a Redis restart flushes the local tier and tracking is re-established', async () => {
  const volatile = await startRedis({ owned: true });
  const opts = { clientOpts: volatile.options(), errorCallback: () => {} };
  const a = new RedisCacheStore(opts);
  const b = new RedisCacheStore(opts);
  stores.push(a, b);
  try {
    await waitFor(async () => (await volatile.commandStats())['client|tracking'] === 4);
    await a.set('k', 'v1');
    await b.get('k');
    await volatile.kill();
    await volatile.restart(); // empty: nothing survived
    await waitFor(async () => (await volatile.commandStats())['client|tracking'] === 4, 8000);
    expect(await b.get('k')).toBeUndefined();
    await a.set('k', 'v2');
    expect((await b.get('k'))?.value).toBe('v2');
    await a.set('k', 'v3');
    await waitFor(async () => (await b.get('k'))?.value === 'v3');
  } finally {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await volatile.stop();
  }
});

async function clientsByName(): Promise<Record<string, { id: string; redir: string }>> {
  const list = String(await redis.admin().client('LIST'));
  const byName: Record<string, { id: string; redir: string }> = {};
  for (const line of list.split('\n')) {
    const fields = Object.fromEntries(line.split(' ').map((f) => f.split('=') as [string, string]));
    if (fields.name) byName[fields.name] = { id: fields.id!, redir: fields.redir! };
  }
  return byName;
}
