import type { Request, Response } from 'express';
import express from 'express5';
import { Redis, type RedisOptions } from 'ioredis';
import { Redis as Redis6 } from 'ioredis6';
import request from 'supertest';
import { RedisCacheStore, type RedisCacheStoreOptions } from '@restash/core';
import { createCache } from '@restash/express';
import { startRedis, waitFor, type RedisHandle } from '../harness';
import { denials, documentedRules, PASSWORD, PREFIX, USER } from './support';

// The least-privilege ACL of the README's production checklist, kept honest: the line is read from
// that file and applied as written, then the store runs through everything it does (scripts by
// SHA and by source, leases, a budgeted invalidation, tracking between two instances and its
// health check, ioredis 6, an Express app) as that user with nothing refused, as does a store with
// tracking off under the line without its tracking rules; and the user is shown unable to do
// anything else. Redis checks the commands scripts call, and their keys, too, but reports a
// refusal inside a script as a plain ERR, not NOPERM: so besides the errors the stores report,
// ACL LOG must stay empty. (Each rule of the line is needed: without any one, some test fails.)

let redis: RedisHandle;
let admin: Redis;
let errors: unknown[];
const stores: RedisCacheStore[] = [];
const clients: { quit(): Promise<unknown> }[] = [];

beforeAll(async () => {
  // Owned: the test creates users. DEBUG enabled, so that only the ACL can refuse it.
  redis = await startRedis({ owned: true, args: ['--enable-debug-command', 'yes'] });
  admin = redis.admin();
  await admin.call('ACL', 'SETUSER', USER, ...documentedRules(await admin.info('server')));
  await admin.set('other:secret', 'not yours');
});

afterAll(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
  await Promise.all(clients.splice(0).map((client) => client.quit().catch(() => undefined)));
  await redis?.stop();
});

/** Connection options of the restash user. */
function asUser(extra: RedisOptions = {}): RedisOptions {
  return redis.options({ username: USER, password: PASSWORD, ...extra });
}

function makeStore(options: RedisCacheStoreOptions = {}): RedisCacheStore {
  const store = new RedisCacheStore({
    clientOpts: asUser({ keyPrefix: PREFIX }),
    errorCallback: (err) => errors.push(err),
    ...options,
  });
  stores.push(store);
  return store;
}

/** Reads `key` until the store serves it from its local tier (tracking is on and confirmed). */
async function servedLocally(store: RedisCacheStore, key: string): Promise<void> {
  await waitFor(
    async () => (await store.get(key)) !== undefined && store.peek(key) !== undefined,
    5000,
    `${key} served locally`,
  );
}

describe('the store under the documented ACL', () => {
  let a: RedisCacheStore;
  let b: RedisCacheStore;

  beforeAll(() => {
    a = makeStore();
    b = makeStore();
  });
  beforeEach(async () => {
    errors = [];
    await admin.call('ACL', 'LOG', 'RESET');
  });
  afterEach(async () => {
    expect(errors).toEqual([]);
    expect(await denials(admin)).toEqual([]);
  });

  test('every connection the stores open is the restash user', async () => {
    await a.set('who', 'v', {}, 60);
    await Promise.all([servedLocally(a, 'who'), servedLocally(b, 'who')]);
    const ours = String(await admin.client('LIST'))
      .split('\n')
      .filter((line) => / name=restash/.test(line));
    // Each store: its own connection, the tracked reader and the invalidation subscriber.
    expect(ours.map((line) => / name=(\S+)/.exec(line)?.[1]).sort()).toEqual([
      'restash',
      'restash',
      'restash:invalidations',
      'restash:invalidations',
      'restash:reader',
      'restash:reader',
    ]);
    for (const line of ours) expect(line).toMatch(/ user=restash /);
  });

  test('set, get, getOrLease, lease, setLeased and delete, by SHA and by source', async () => {
    // Scripts unknown to the server: the first of each goes by SHA, hears NOSCRIPT, sends EVAL.
    await admin.script('FLUSH');
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await a.set('s', 'héllo', { n: 1 }, 60, ['products', 'product:1']);
    await a.set('b', bytes, { n: 2 }, undefined, ['products']); // no TTL: indexes persist
    expect(await b.get('s')).toEqual({ value: 'héllo', metadata: { n: 1 } });
    expect(Buffer.compare((await b.get('b'))!.value as Buffer, bytes)).toBe(0);

    const miss = await a.getOrLease('leased', ['products']);
    expect(miss.entry).toBeUndefined();
    expect(await a.setLeased(miss.lease!, 'v', { n: 3 }, 60, ['products'])).toBe(true);
    expect((await b.getOrLease('leased', ['products'])).entry?.value).toBe('v');

    // A lease taken before an invalidation of one of its tags is refused.
    const lease = await a.lease('late', ['product:1']);
    expect(await b.invalidateTags(['product:1'])).toBe(1);
    expect(await a.setLeased(lease, 'stale', {}, 60, ['product:1'])).toBe(false);
    expect(await a.get('late')).toBeUndefined();
    expect(await a.get('s')).toBeUndefined();

    await a.delete('b');
    await a.delete('absent');
    expect(await b.get('b')).toBeUndefined();
    // Everything the store wrote is under its prefix.
    const outside = (await admin.keys('*')).filter(
      (key) => !key.startsWith(PREFIX) && key !== 'other:secret',
    );
    expect(outside).toEqual([]);
  });

  test("another instance's writes, invalidations and deletes reach the local tier", async () => {
    await a.set('k', 'v1', {}, 60, ['t']);
    await servedLocally(a, 'k');
    await b.set('k', 'v2', {}, 60, ['t']);
    await waitFor(() => a.peek('k') === undefined, 2000, 'set by b reaches a');
    expect((await a.get('k'))?.value).toBe('v2');

    await servedLocally(a, 'k');
    await b.invalidateTags(['t']); // heard by prefix (broadcast tracking of tag versions)
    await waitFor(() => a.peek('k') === undefined, 2000, 'invalidation by b reaches a');
    expect(await a.get('k')).toBeUndefined();

    await b.set('k', 'v3', {}, 60, ['t']);
    await servedLocally(a, 'k');
    await b.delete('k');
    await waitFor(() => a.peek('k') === undefined, 2000, 'delete by b reaches a');
    expect(await a.get('k')).toBeUndefined();
  });

  test('a tag of 4,500 entries is removed in budgeted calls (2,000 per call)', async () => {
    const keys = Array.from({ length: 4500 }, (_, i) => `bulk:${i}`);
    for (let i = 0; i < keys.length; i += 250) {
      await Promise.all(keys.slice(i, i + 250).map((key) => b.set(key, 'v', {}, 60, ['bulk'])));
    }
    await servedLocally(a, 'bulk:7');
    await redis.resetStats();
    expect(await b.invalidateTags(['bulk'])).toBe(keys.length);
    const stats = await redis.commandStats();
    expect((stats.evalsha ?? 0) + (stats.eval ?? 0)).toBeGreaterThanOrEqual(3); // 2,000 + 2,000 + 500
    await waitFor(() => a.peek('bulk:7') === undefined, 2000, 'bulk invalidation reaches a');
    expect(await admin.keys(`${PREFIX}metadata:*bulk:*`)).toEqual([]);
    expect(await admin.keys(`${PREFIX}ti:*bulk`)).toEqual([]);
  });

  test('an ioredis 6 client (RESP3, HELLO with AUTH) as `client`', async () => {
    const { host, port } = redis;
    const client = new Redis6({
      host,
      port,
      username: USER,
      password: PASSWORD,
      keyPrefix: PREFIX,
    });
    clients.push(client);
    const store = new RedisCacheStore({ client, errorCallback: (err) => errors.push(err) });
    stores.push(store);
    await store.set('six', 'v', {}, 60, ['six']);
    await servedLocally(store, 'six');
    await a.invalidateTags(['six']);
    await waitFor(() => store.peek('six') === undefined, 2000, 'invalidation reaches the store');
    await store.close();
  });

  test('an Express app: a miss, a hit, an invalidation, a miss', async () => {
    const cache = createCache({ store: a, ttl: 60, onError: (err) => errors.push(err) });
    let calls = 0;
    const app = express();
    app.get(
      '/products/:id',
      cache.route({ tags: (req) => [`product:${req.params.id}`] }),
      (req: Request, res: Response) => void res.json({ id: req.params.id, n: ++calls }),
    );
    app.post(
      '/products/:id',
      cache.invalidateOn({ tags: (req) => [`product:${req.params.id}`] }),
      (_req: Request, res: Response) => void res.status(204).end(),
    );
    // supertest listens on a new port per request; the host is part of the default key.
    const get = () => request(app).get('/products/9').set('Host', 'shop.example');
    expect((await get()).headers['x-cache']).toBe('MISS');
    const hit = await get();
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body).toEqual({ id: '9', n: 1 });
    expect((await request(app).post('/products/9').set('Host', 'shop.example')).status).toBe(204);
    const after = await get();
    expect(after.headers['x-cache']).toBe('MISS');
    expect(after.body).toEqual({ id: '9', n: 2 });
    await cache.close(); // leaves `a`, which it did not create, open
  });

  test('with tracking: false, the line without the tracking rules is enough', async () => {
    const untracked = `${USER}-untracked`;
    const rules = documentedRules(await admin.info('server'), { tracking: false });
    await admin.call('ACL', 'SETUSER', untracked, ...rules);
    const store = makeStore({
      clientOpts: asUser({ username: untracked, keyPrefix: PREFIX }),
      tracking: false,
    });
    await store.set('u', 'v1', {}, 60, ['u']);
    expect((await store.get('u'))?.value).toBe('v1');
    const { lease } = await store.getOrLease('u2', ['u']);
    expect(await store.setLeased(lease!, 'v2', {}, 60, ['u'])).toBe(true);
    expect(await store.invalidateTags(['u'])).toBe(2);
    await store.delete('u');
    await store.close();
  });

  test("tracking's health check (each second: PING, CLIENT TRACKINGINFO) runs", async () => {
    await waitFor(
      async () => ((await redis.commandStats())['client|trackinginfo'] ?? 0) >= 2,
      3000,
      'a health check of both stores',
    );
  });
});

describe('the user can do nothing else', () => {
  let conn: Redis;
  beforeAll(async () => {
    conn = new Redis(asUser({ maxRetriesPerRequest: 0 }));
    clients.push(conn);
    await conn.ping();
  });
  beforeEach(async () => {
    await admin.call('ACL', 'LOG', 'RESET');
  });

  /** Expects ACL LOG to hold exactly one refusal of the restash user: of `object`, in `context`. */
  async function expectRefusal(object: string, context = 'toplevel'): Promise<void> {
    expect((await denials(admin)).map((d) => [d.username, d.context, d.object])).toEqual([
      [USER, context, object],
    ]);
  }

  const commands: [string[], string][] = [
    [['FLUSHALL'], 'flushall'],
    [['FLUSHDB'], 'flushdb'],
    [['KEYS', '*'], 'keys'],
    [['SCAN', '0'], 'scan'],
    [['CONFIG', 'GET', 'maxmemory'], 'config|get'],
    [['CONFIG', 'SET', 'maxmemory', '1'], 'config|set'],
    [['DEBUG', 'SLEEP', '0'], 'debug'],
    [['SCRIPT', 'FLUSH'], 'script|flush'],
    [['FUNCTION', 'FLUSH'], 'function|flush'],
    [['ACL', 'SETUSER', USER, '+@all'], 'acl|setuser'],
    [['CLIENT', 'LIST'], 'client|list'],
    [['CLIENT', 'KILL', 'USER', 'default'], 'client|kill'],
    [['MONITOR'], 'monitor'],
    [['SELECT', '1'], 'select'],
    [['SWAPDB', '0', '1'], 'swapdb'],
    [['PUBLISH', '__redis__:invalidate', 'x'], 'publish'],
    [['SHUTDOWN', 'NOSAVE'], 'shutdown'],
  ];
  test.each(commands.map(([command, object]) => [command.join(' '), command, object] as const))(
    '%s is refused',
    async (_title, [name, ...args], object) => {
      await expect(conn.call(name!, ...args)).rejects.toThrow(/^NOPERM/);
      await expectRefusal(object);
    },
  );

  const outside: [string[], string][] = [
    [['GET', 'other:secret'], 'other:secret'],
    [['SET', 'other:x', '1'], 'other:x'],
    [['DEL', 'other:secret'], 'other:secret'],
    [['HSET', 'other:h', 'f', 'v'], 'other:h'],
    [['EVAL', "return redis.call('GET', KEYS[1])", '1', 'other:secret'], 'other:secret'],
  ];
  test.each(outside.map(([command, key]) => [command[0]!, command, key] as const))(
    '%s of a key outside the prefix is refused',
    async (_title, [name, ...args], key) => {
      await expect(conn.call(name!, ...args)).rejects.toThrow(/^NOPERM/);
      await expectRefusal(key);
    },
  );

  // Inside a script Redis refuses with ERR rather than NOPERM; ACL LOG says 'lua'.
  test('a script cannot build a name outside the prefix', async () => {
    await expect(conn.eval("return redis.call('GET', 'other:secret')", 0)).rejects.toThrow(
      /can't access at least one of the keys/,
    );
    await expectRefusal('other:secret', 'lua');
  });

  test('a script cannot call a command the user lacks', async () => {
    await expect(conn.eval("return redis.call('FLUSHALL')", 0)).rejects.toThrow(
      /can't run this command/,
    );
    await expectRefusal('flushall', 'lua');
  });

  test('other channels are refused', async () => {
    const sub = new Redis(asUser({ maxRetriesPerRequest: 0 }));
    clients.push(sub);
    await expect(sub.subscribe('other')).rejects.toThrow(/^NOPERM/);
    await expectRefusal('other');
  });

  test('the data outside the prefix is intact', async () => {
    expect(await admin.get('other:secret')).toBe('not yours');
    expect(await admin.dbsize()).toBeGreaterThan(1);
  });
});
