import { setTimeout as sleep } from 'node:timers/promises';
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { RedisCacheStore, RESILIENT_DEFAULTS } from '@restash/core';
import { startRedis, waitFor, type RedisHandle } from '../../../test/harness';

// RedisCacheStore beyond the shared contract: layout, atomicity, options and failure behaviour.
// Tracking is off here so every get goes to Redis; tracking.test.ts covers the local tier.

let redis: RedisHandle;
let store: RedisCacheStore;
let errors: unknown[];

function makeStore(extra: ConstructorParameters<typeof RedisCacheStore>[0] = {}): RedisCacheStore {
  return new RedisCacheStore({
    clientOpts: redis.options(),
    tracking: false,
    errorCallback: (err) => errors.push(err),
    ...extra,
  });
}

beforeAll(async () => {
  redis = await startRedis({ owned: true });
});
afterAll(async () => {
  await redis.stop();
});
beforeEach(async () => {
  await redis.flush();
  errors = [];
  store = makeStore();
});
afterEach(async () => {
  await store.close();
});

const keys = async (pattern = '*'): Promise<string[]> => (await redis.admin().keys(pattern)).sort();

describe('options', () => {
  const SENTINEL = { sentinels: [{ host: '127.0.0.1', port: 26379 }], name: 'mymaster' };
  test.each([
    [{ maxEntrySize: -1 }, /maxEntrySize/],
    [{ maxEntrySize: 1.5 }, /maxEntrySize/],
    [{ tracking: 'yes' }, /tracking/],
    [{ maxCount: 0 }, /maxCount/],
    [{ maxSize: '1mb' }, /maxSize/],
    [{ errorCallback: 'log' }, /errorCallback/],
    [{ clientOpts: 6379 }, /clientOpts/],
    [{ client: {} }, /client must be an ioredis/],
    [{ trackng: true }, /unknown option 'trackng'/],
    [{ clientOpts: {}, client: new Redis({ lazyConnect: true }) }, /only one of/],
    [{ clientOpts: { keyPrefix: 'app{' } }, /keyPrefix/],
    [{ clientOpts: { keyPrefix: '{}' } }, /keyPrefix/],
    [{ cluster: { nodes: [] } }, /cluster.nodes/],
    [{ sentinel: 'mymaster' }, /sentinel must be an object/],
    [{ sentinel: { sentinels: [], name: 'm' } }, /sentinel.sentinels must be a non-empty/],
    [{ sentinel: { sentinels: [{ port: 0 }], name: 'm' } }, /sentinel.sentinels\[0\].port/],
    [{ sentinel: { sentinels: [{ host: 1 }], name: 'm' } }, /sentinel.sentinels\[0\].host/],
    [{ sentinel: { sentinels: [{ port: 26379 }], name: '' } }, /sentinel.name/],
    [{ sentinel: { ...SENTINEL, replayWindowMs: 1.5 } }, /sentinel.replayWindowMs/],
    [{ sentinel: { ...SENTINEL, settleMs: -1 } }, /sentinel.settleMs/],
    [{ sentinel: { ...SENTINEL, quorum: 2 } }, /unknown option 'quorum'/],
    [{ sentinel: SENTINEL, cluster: { nodes: [{ port: 7000 }] } }, /sentinel cannot be combined/],
    [{ sentinel: SENTINEL, clientOpts: { name: 'other' } }, /in sentinel, not in clientOpts/],
    [{ clientOpts: { ...SENTINEL, role: 'slave' } }, /role must be 'master'/],
  ])('%p is a TypeError naming the option', (options, message) => {
    expect(() => new RedisCacheStore(options as never)).toThrow(TypeError);
    expect(() => new RedisCacheStore(options as never)).toThrow(message);
  });

  test('a rejected option opens no connection', async () => {
    await store.get('settled'); // the beforeEach store is connected
    const before = await connectedClients();
    expect(() => new RedisCacheStore({ clientOpts: redis.options({ keyPrefix: 'app{' }) })).toThrow(
      TypeError,
    );
    expect(() => new RedisCacheStore({ clientOpts: redis.options(), maxCount: 0 })).toThrow(
      TypeError,
    );
    await sleep(200);
    expect(await connectedClients()).toBe(before);
  });

  test('keyPrefix and db from clientOpts apply to every key the store writes', async () => {
    const prefixed = makeStore({ clientOpts: redis.options({ keyPrefix: 'app:', db: 3 }) });
    await prefixed.set('k', 'v', {}, 60, ['t']);
    const lease = await prefixed.lease('k2');
    await prefixed.setLeased(lease, 'v', {}, 60, ['t']);
    await prefixed.invalidateTags(['t']);
    await prefixed.set('k3', 'v', {}, 60, ['u']);
    expect(await prefixed.get('k3')).toBeDefined();
    await prefixed.close();
    const db3 = new Redis(redis.options({ db: 3 }));
    const written = await db3.keys('*');
    await db3.quit();
    expect(written.length).toBeGreaterThan(3);
    expect(written.filter((key) => !key.startsWith('app:'))).toEqual([]);
    expect(await keys()).toEqual([]); // nothing in db 0
  });

  test('the resilient defaults apply and clientOpts override them', async () => {
    expect(RESILIENT_DEFAULTS).toMatchObject({
      commandTimeout: 250,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
    });
    const slow = makeStore({ clientOpts: redis.options({ commandTimeout: 1500 }) });
    await slow.set('k', 'v');
    await redis.admin().client('PAUSE', 800, 'ALL');
    const started = performance.now();
    expect(await slow.get('k')).toEqual({ value: 'v', metadata: {} }); // waited past the pause
    expect(performance.now() - started).toBeGreaterThan(500);
    await slow.close();
  });

  test('a client you pass is used and not quit by close()', async () => {
    const client = new Redis(redis.options({ keyPrefix: 'mine:' }));
    const own = makeStore({ clientOpts: undefined, client });
    await own.set('k', 'v');
    expect(await own.get('k')).toEqual({ value: 'v', metadata: {} });
    expect(await keys()).toContain('mine:metadata:{' + (await findBucket(client, 'mine:')) + '}k');
    await own.close();
    expect(client.status).toBe('ready');
    expect(await client.ping()).toBe('PONG');
    await client.quit();
  });

  test('a password in clientOpts is used by every connection, tracking ones included', async () => {
    const secured = await startRedis({ owned: true, args: ['--requirepass', 's3cret'] });
    try {
      const good = new RedisCacheStore({
        clientOpts: secured.options({ password: 's3cret' }),
        errorCallback: (e) => errors.push(e),
      });
      await good.set('k', 'v');
      expect(await good.get('k')).toBeDefined();
      await sleep(300); // let the tracking connections authenticate
      await good.close();
      expect(errors).toEqual([]);
      const bad = new RedisCacheStore({
        clientOpts: secured.options({ password: 'wrong' }),
        tracking: false,
        errorCallback: (e) => errors.push(e),
      });
      expect(await bad.get('k')).toBeUndefined();
      await bad.close();
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      await secured.stop();
    }
  });
});

async function connectedClients(): Promise<number> {
  return String(await redis.admin().client('LIST'))
    .trim()
    .split('\n').length;
}

async function findBucket(client: Redis, prefix: string): Promise<string> {
  const [key] = await client.keys(`${prefix}metadata:*`);
  return /\{(\d+)\}/.exec(key ?? '')?.[1] ?? 'none';
}

describe('layout and atomicity', () => {
  test('an entry is a metadata hash and a value key in one hash slot, with the same TTL', async () => {
    await store.set('product:1', 'body', { status: 200 }, 120);
    const [meta] = await keys('metadata:*');
    const [value] = await keys('values:*');
    expect(meta).toMatch(/^metadata:\{\d+\}product:1$/);
    expect(value).toMatch(/^values:\{\d+\}[0-9a-f-]{36}$/);
    expect(calculateSlot(meta!)).toBe(calculateSlot(value!));
    const hash = await redis.admin().hgetall(meta!);
    expect(JSON.parse(hash.metadata!)).toEqual({ status: 200 });
    expect(value!.endsWith(hash.id!)).toBe(true);
    const [metaTtl, valueTtl] = await Promise.all([
      redis.admin().pttl(meta!),
      redis.admin().pttl(value!),
    ]);
    expect(metaTtl).toBeGreaterThan(115_000);
    expect(Math.abs(metaTtl - valueTtl)).toBeLessThan(50);
  });

  test('entries spread over many hash slots', async () => {
    for (let i = 0; i < 50; i++) await store.set(`k${i}`, 'v');
    const slots = new Set((await keys('metadata:*')).map((k) => calculateSlot(k)));
    expect(slots.size).toBeGreaterThan(40);
  });

  test('overwrites, even concurrent ones, never leave orphaned values', async () => {
    for (let i = 0; i < 20; i++) await store.set('k', `v${i}`, {}, 60, ['t']);
    await Promise.all(Array.from({ length: 30 }, (_, i) => store.set('k', `c${i}`, {}, 60, ['t'])));
    expect(await keys('values:*')).toHaveLength(1);
    expect(await keys('metadata:*')).toHaveLength(1);
    await store.delete('k');
    expect(await keys('values:*')).toEqual([]);
    expect(await keys('metadata:*')).toEqual([]);
  });

  test('get is one round trip: one EVALSHA, hit or miss', async () => {
    await store.set('k', 'v');
    const log = await redis.monitor();
    await store.get('k');
    await store.get('absent');
    const sent = await log.commands();
    await log.stop();
    expect(sent.map(([name]) => name)).toEqual(['evalsha', 'evalsha']);
  });

  test('the scripts are reloaded after SCRIPT FLUSH (NOSCRIPT fallback)', async () => {
    await store.set('k', 'v');
    await redis.admin().script('FLUSH');
    expect(await store.get('k')).toEqual({ value: 'v', metadata: {} });
    await store.set('k2', 'v2', {}, 60, ['t']);
    expect(await store.invalidateTags(['t'])).toBe(1);
  });
});

describe('broken entries', () => {
  const metaKey = async (): Promise<string> => (await keys('metadata:*'))[0]!;

  test('metadata without its value is a miss, is removed and is reported', async () => {
    await store.set('k', 'v', {}, 60, ['t']);
    await redis.admin().del(...(await keys('values:*')));
    expect(await store.get('k')).toBeUndefined();
    expect(await keys('metadata:*')).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/broken cache entry/);
  });

  test('a hash missing its id field is a miss, is removed and is reported', async () => {
    await store.set('k', 'v');
    await redis.admin().hdel(await metaKey(), 'id');
    expect(await store.get('k')).toBeUndefined();
    expect(await keys()).not.toContainEqual(expect.stringMatching(/^metadata:/));
    expect(errors).toHaveLength(1);
  });

  test('corrupted metadata JSON is a miss, both keys are removed and it is reported', async () => {
    await store.set('k', 'v');
    await redis.admin().hset(await metaKey(), 'metadata', '{not json');
    expect(await store.get('k')).toBeUndefined();
    await sleep(50);
    expect(await keys('metadata:*')).toEqual([]);
    expect(await keys('values:*')).toEqual([]);
    expect(String(errors[0])).toMatch(/corrupted metadata/);
  });

  test('a key of the wrong type is a miss and is reported, not thrown', async () => {
    await store.set('k', 'v');
    await redis.admin().set(await metaKey(), 'plain string');
    expect(await store.get('k')).toBeUndefined();
    expect(String(errors[0])).toMatch(/WRONGTYPE/);
  });
});

describe('tags', () => {
  test('invalidation uses no KEYS or SCAN and touches only the buckets involved', async () => {
    for (let i = 0; i < 10; i++) await store.set(`p${i}`, 'v', {}, 60, ['products']);
    await store.set('other', 'v', {}, 60, ['users']);
    await redis.resetStats();
    expect(await store.invalidateTags(['products'])).toBe(10);
    const stats = await redis.commandStats();
    expect(stats.keys).toBeUndefined();
    expect(stats.scan).toBeUndefined();
    expect(stats.evalsha).toBeLessThanOrEqual(11); // active leases + one per bucket
    expect(await store.get('other')).toBeDefined();
  });

  test('tag indexes are pruned as entries expire; versions live as long as their entries', async () => {
    await store.set('short1', 'v', {}, 1, ['t']);
    await store.set('short2', 'v', {}, 1, ['t']);
    await store.set('long', 'v', {}, 60, ['keep']);
    await sleep(1200);
    expect(await keys('ti:*')).toEqual(['ti:{0}keep']);
    const versionTtl = await redis.admin().pttl('tv:{0}keep');
    expect(versionTtl).toBeGreaterThan(55_000);
    expect(versionTtl).toBeLessThanOrEqual(130_000);
  });
});

describe('Redis trouble', () => {
  test('with Redis down, get misses quickly and reports; writes reject', async () => {
    const down = await startRedis({ owned: true });
    const s = new RedisCacheStore({
      clientOpts: down.options(),
      errorCallback: (e) => errors.push(e),
    });
    await s.set('k', 'v');
    await down.kill();
    const started = performance.now();
    expect(await s.get('k')).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(1000);
    await expect(s.set('k', 'v2')).rejects.toThrow();
    expect(errors.length).toBeGreaterThan(0);
    await down.restart();
    await waitFor(() => isUp(s));
    await s.close();
    await down.stop();
  });

  test('a paused Redis (CLIENT PAUSE) costs a bounded wait, not a hang', async () => {
    await store.set('k', 'v');
    await redis.admin().client('PAUSE', 2000, 'ALL');
    const started = performance.now();
    expect(await store.get('k')).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(String(errors[0])).toMatch(/timed out/i);
    await redis.admin().client('UNPAUSE');
  });
});

describe('leases across Redis restarts', () => {
  test('a lease taken before a restart is refused after it', async () => {
    const volatile = await startRedis({ owned: true });
    const s = new RedisCacheStore({
      clientOpts: volatile.options(),
      tracking: false,
      errorCallback: () => {},
    });
    try {
      const lease = await s.lease('k');
      await volatile.kill();
      await volatile.restart();
      await waitFor(() => isUp(s));
      expect(await s.setLeased(lease, 'v', {}, 60, ['t'])).toBe(false);
    } finally {
      await s.close();
      await volatile.stop();
    }
  });

  test('a lease taken before a FLUSHALL is refused after it (the bucket clock is new)', async () => {
    const lease = await store.lease('k');
    await redis.admin().flushall();
    expect(await store.setLeased(lease, 'v', {}, 60, ['t'])).toBe(false);
    const fresh = await store.lease('k');
    expect(await store.setLeased(fresh, 'v', {}, 60, ['t'])).toBe(true);
  });
});

async function isUp(s: RedisCacheStore): Promise<boolean> {
  try {
    await s.set('probe-up', 'x', {}, 1);
    return true;
  } catch {
    return false;
  }
}
