import { Cluster, Redis, type RedisOptions } from 'ioredis6';
import { RedisCacheStore, type RedisCacheStoreOptions } from '@restash/core';
import { startRedis, waitFor, type RedisHandle } from '../../../test/harness';

// An ioredis 6 client passed as `client:` to a store that itself imports ioredis 5 here: another
// major and another copy, speaking RESP3 by default. It must type-check as `client:` (`pnpm lint`
// compiles this file) and keep local tiers coherent, whatever protocol the client was given.
// "Served locally" is observed as "no EVALSHA was counted", as in tracking.test.ts.

let redis: RedisHandle;
const stores: RedisCacheStore[] = [];
const clients: Redis[] = [];
let errors: unknown[];

/** How the user configured their ioredis 6 client. */
const CONFIGURATIONS: [string, RedisOptions][] = [
  ['the default (RESP3)', {}],
  ['RESP3 with replyMapping "resp3"', { protocol: 3, replyMapping: 'resp3' }],
  ['RESP2', { protocol: 2 }],
];

function makeStore(clientOptions: RedisOptions, options: RedisCacheStoreOptions = {}) {
  const client = new Redis({ host: redis.host, port: redis.port, ...clientOptions });
  clients.push(client);
  const store = new RedisCacheStore({
    client,
    errorCallback: (err) => errors.push(err),
    ...options,
  });
  stores.push(store);
  return store;
}

/** Resolves once `count` tracking redirects are set up on the server. */
async function trackingReady(count: number): Promise<void> {
  await waitFor(async () => {
    const tracked = String(await redis.admin().client('LIST'))
      .split('\n')
      .filter((line) => / flags=\S*t\S* /.test(line));
    return tracked.length >= count && tracked.every((line) => !/ redir=-1 /.test(line));
  });
}

async function servedLocally(store: RedisCacheStore, key: string, value: string): Promise<boolean> {
  const before = (await redis.commandStats()).evalsha ?? 0;
  return (
    (await store.get(key))?.value === value &&
    ((await redis.commandStats()).evalsha ?? 0) === before
  );
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
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  clients.splice(0).forEach((c) => c.disconnect());
});

test.each(CONFIGURATIONS)(
  'a client of ioredis 6 with %s: writes through A drop the local copy in B',
  async (_name, clientOptions) => {
    const a = makeStore(clientOptions);
    const b = makeStore(clientOptions);
    await trackingReady(2);
    await a.set('k', 'v1', {}, 60, ['t']);
    // The server shows tracking on before B has read its reply: wait for B too.
    await waitFor(() => servedLocally(b, 'k', 'v1'), 3000, 'B serving its copy');

    await a.set('k', 'v2', {}, 60, ['t']);
    await waitFor(() => servedLocally(b, 'k', 'v2'), 3000, "B's copy replaced");
    expect(await a.invalidateTags(['t'])).toBe(1);
    await waitFor(async () => (await b.get('k')) === undefined, 3000, "B's copy dropped");
    expect(errors).toEqual([]);
  },
);

test.each(CONFIGURATIONS)(
  'a client of ioredis 6 with %s: replies read as over RESP2',
  async (_name, clientOptions) => {
    // No local tier: every read is a script reply on the user's own connection.
    const store = makeStore(clientOptions, { tracking: false });
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await store.set('b', bytes, { type: 'bytes' }, 60, ['t', 'u']);
    await store.set('s', 'héllo ✓', { type: 'text' }, undefined, ['t']);
    const b = await store.get('b');
    expect(Buffer.isBuffer(b?.value) && Buffer.compare(b.value, bytes)).toBe(0);
    expect(b?.metadata).toEqual({ type: 'bytes' });
    expect(await store.get('s')).toEqual({ value: 'héllo ✓', metadata: { type: 'text' } });

    const miss = await store.getOrLease('absent', ['t']);
    expect(miss.entry).toBeUndefined();
    expect(await store.setLeased(miss.lease!, 'x', {}, 60, ['t'])).toBe(true);
    const stale = await store.lease('absent', ['t']);
    expect(await store.invalidateTags(['t', 'nothing'])).toBe(3);
    expect(await store.setLeased(stale, 'y', {}, 60, ['t'])).toBe(false);
    expect(await store.get('b')).toBeUndefined();
    await store.delete('absent');
    expect(errors).toEqual([]);
  },
);

test('an ioredis 6 Cluster is accepted as client and left open by close()', async () => {
  const cluster = new Cluster([{ host: redis.host, port: redis.port }], { lazyConnect: true });
  const store = new RedisCacheStore({ client: cluster, errorCallback: () => {} });
  await store.close();
  expect(cluster.status).toBe('wait');
  cluster.disconnect();
});
