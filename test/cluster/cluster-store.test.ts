import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisCacheStore } from '@restash/core';
import { startRedisCluster, waitFor, type ClusterHandle } from '../harness';
import {
  clusterStore,
  evalshaCount,
  keysOn,
  messages,
  servedLocally,
  slotOf,
  trackingReady,
  untilLocal,
} from './support';

// RedisCacheStore on a 3-master cluster: layout, tags and leases across masters, and the local
// tier kept coherent by per-master tracking, through slot migrations too. One cluster for the
// file; the tests that move slots come last.

let cluster: ClusterHandle;
let masters: number[];
const stores: RedisCacheStore[] = [];
let errors: unknown[];

function makeStore(options: Parameters<typeof clusterStore>[2] = {}): RedisCacheStore {
  const store = clusterStore(cluster, errors, options);
  stores.push(store);
  return store;
}

/** Metadata and value keys held by the master on `port`. */
async function keysOnNode(port: number): Promise<{ metadata: string[]; values: string[] }> {
  return cluster.onNode(port, async (c) => ({
    metadata: await c.keys(`${cluster.keyPrefix}metadata:*`),
    values: await c.keys(`${cluster.keyPrefix}values:*`),
  }));
}

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
  masters = (await cluster.masters()).map((m) => m.port);
});
afterAll(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await cluster?.stop();
});
beforeEach(async () => {
  await cluster.flush();
  errors = [];
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

test('a cluster store with tracking (the default) reads, writes and deletes', async () => {
  const store = makeStore();
  await store.set('k', 'v', { status: 200 }, 60);
  expect(await store.get('k')).toEqual({ value: 'v', metadata: { status: 200 } });
  await store.set('k', Buffer.from([0, 255]));
  expect(await store.get('k')).toEqual({ value: Buffer.from([0, 255]), metadata: {} });
  await store.delete('k');
  expect(await store.get('k')).toBeUndefined();
  expect(errors).toEqual([]);
});

test('entries spread over every master, each with both keys on its master', async () => {
  const store = makeStore();
  for (let i = 0; i < 90; i++) await store.set(`k${i}`, `v${i}`, {}, 60);
  for (let i = 0; i < 90; i++) await store.set(`k${i}`, `w${i}`, {}, 60); // overwrites
  let total = 0;
  for (const port of masters) {
    const { metadata, values } = await keysOnNode(port);
    // 90 keys over 1024 buckets over 3 masters: each master gets about 30.
    expect(metadata.length).toBeGreaterThan(10);
    // No orphan from the overwrites, and every value sits beside its metadata.
    expect(values.length).toBe(metadata.length);
    total += metadata.length;
  }
  expect(total).toBe(90);
  for (let i = 0; i < 90; i++) expect((await store.get(`k${i}`))?.value).toBe(`w${i}`);
});

test('tags spanning every master: exact counts, one count per entry, no KEYS or SCAN', async () => {
  const store = makeStore();
  for (let i = 0; i < 60; i++) {
    await store.set(`p${i}`, 'v', {}, 60, i < 20 ? ['products', 'featured'] : ['products']);
  }
  for (let i = 0; i < 10; i++) await store.set(`o${i}`, 'v', {}, 60, ['other']);
  const slots = new Set(Array.from({ length: 60 }, (_, i) => slotOf(cluster, `p${i}`)));
  expect(slots.size).toBeGreaterThan(50);
  const before = await cluster.commandStats();
  expect(await store.invalidateTags(['products', 'featured'])).toBe(60);
  const after = await cluster.commandStats();
  expect(after.keys ?? 0).toBe(before.keys ?? 0);
  expect(after.scan ?? 0).toBe(before.scan ?? 0);
  for (let i = 0; i < 60; i++) expect(await store.get(`p${i}`)).toBeUndefined();
  for (let i = 0; i < 10; i++) expect(await store.get(`o${i}`)).toBeDefined();
  expect(await store.invalidateTags(['products', 'featured'])).toBe(0);
  expect(await store.invalidateTags(['other'])).toBe(10);
  for (const port of masters) expect((await keysOnNode(port)).metadata).toEqual([]);
  expect(errors).toEqual([]);
});

test("per-user tags: one user's entries go on every master, other users' stay", async () => {
  const store = makeStore();
  for (const user of ['u1', 'u2', 'u3']) {
    for (let i = 0; i < 15; i++) {
      await store.set(`${user}/page${i}`, user, {}, 60, [`user:${user}`, 'pages']);
    }
  }
  expect(await store.invalidateTags(['user:u2'])).toBe(15);
  for (let i = 0; i < 15; i++) {
    expect(await store.get(`u2/page${i}`)).toBeUndefined();
    expect((await store.get(`u1/page${i}`))?.value).toBe('u1');
    expect((await store.get(`u3/page${i}`))?.value).toBe('u3');
  }
  expect(await store.invalidateTags(['pages'])).toBe(30);
});

test('a lease is refused once its tag is invalidated, wherever the tagged entries live', async () => {
  const store = makeStore();
  const [key] = await keysOn(cluster, masters[0]!, 1, 'leased');
  const [elsewhere] = await keysOn(cluster, masters[1]!, 1, 'tagged');
  await store.set(elsewhere!, 'v', {}, 60, ['t']);
  const lease = await store.lease(key!, ['t']);
  expect(await store.invalidateTags(['t'])).toBe(1);
  expect(await store.setLeased(lease, 'stale', {}, 60, ['t'])).toBe(false);
  expect(await store.get(key!)).toBeUndefined();
  const fresh = await store.lease(key!, ['t']);
  expect(await store.setLeased(fresh, 'fresh', {}, 60, ['t'])).toBe(true);
  expect((await store.get(key!))?.value).toBe('fresh');
});

test('warm gets cost zero commands and cold gets one, on every master', async () => {
  const store = makeStore();
  await trackingReady(cluster, 1);
  const keys = (await Promise.all(masters.map((port) => keysOn(cluster, port, 2)))).flat();
  for (const key of keys) await store.set(key, `v-${key}`, {}, 60);
  for (const key of keys) await store.get(`warm-up-${key}`); // loads the get script per master
  const coldBefore = await evalshaCount(cluster);
  for (const key of keys) expect((await store.get(key))?.value).toBe(`v-${key}`);
  const cold = (await evalshaCount(cluster)) - coldBefore;
  const warmBefore = await evalshaCount(cluster);
  for (let round = 0; round < 100; round++) {
    for (const key of keys) expect((await store.get(key))?.value).toBe(`v-${key}`);
  }
  const warm = (await evalshaCount(cluster)) - warmBefore;
  expect(cold).toBe(keys.length);
  expect(warm).toBe(0);
});

test('two stores stay coherent: writes, deletes and invalidations through A reach B', async () => {
  const a = makeStore();
  const b = makeStore();
  await trackingReady(cluster, 2);
  const keys = (await Promise.all(masters.map((port) => keysOn(cluster, port, 1)))).flat();
  for (const key of keys) {
    await a.set(key, 'v1', {}, 60, ['t']);
    await b.get(key);
    await untilLocal(cluster, b, key, 'v1');
  }
  for (const key of keys) await a.set(key, 'v2', {}, 60, ['t']);
  for (const key of keys) await untilLocal(cluster, b, key, 'v2');
  await a.delete(keys[0]!);
  await waitFor(async () => (await b.get(keys[0]!)) === undefined);
  expect(await a.invalidateTags(['t'])).toBe(keys.length - 1);
  for (const key of keys) await waitFor(async () => (await b.get(key)) === undefined);
  expect(errors).toEqual([]);
});

test('nothing is kept locally before tracking is confirmed on the master', async () => {
  const a = makeStore({ tracking: false });
  await a.set('k', 'v');
  await a.get('warm-up'); // loads the get script
  const before = await evalshaCount(cluster);
  const b = makeStore();
  // Right after construction no master is tracked yet: reads go to Redis and are not kept.
  expect((await b.get('k'))?.value).toBe('v');
  expect((await b.get('k'))?.value).toBe('v');
  expect(await evalshaCount(cluster)).toBe(before + 2);
  await trackingReady(cluster, 1);
  await untilLocal(cluster, b, 'k', 'v');
});

test('a tracking connection killed on one master: flushed, re-established, never stale', async () => {
  const a = makeStore({ tracking: false });
  const b = makeStore();
  await trackingReady(cluster, 1);
  const [master] = masters;
  const [key] = await keysOn(cluster, master!, 1, 'reconnect');
  await a.set(key!, 'v1', {}, 60);
  await untilLocal(cluster, b, key!, 'v1');
  const list = await cluster.onNode(master!, (c) => c.client('LIST') as Promise<string>);
  const id = /id=(\d+) .*name=restash:invalidations /.exec(list)?.[1];
  expect(id).toBeDefined();
  await cluster.onNode(master!, (c) => c.client('KILL', 'ID', id!));
  // Nothing vouches for the local copy now: the next gets go to Redis.
  await waitFor(async () => !(await servedLocally(cluster, b, key!, 'v1')), 5000, 'flush');
  await a.set(key!, 'v2', {}, 60);
  await untilLocal(cluster, b, key!, 'v2'); // tracking is back on that master
  await a.set(key!, 'v3', {}, 60);
  await untilLocal(cluster, b, key!, 'v3');
});

describe('slot moves', () => {
  test('a slot migrated to another master: never stale, and tracking follows it', async () => {
    const a = makeStore();
    const b = makeStore();
    await trackingReady(cluster, 2);
    const [from, to] = masters;
    const [key] = await keysOn(cluster, from!, 1, 'moving');
    await a.set(key!, 'v1', {}, 60);
    await b.get(key!);
    await untilLocal(cluster, b, key!, 'v1');

    // B reads all along; once it has seen v2 it must never see v1 again.
    const seen: (string | undefined)[] = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        seen.push((await b.get(key!))?.value as string | undefined);
        await sleep(2);
      }
    })();
    await cluster.migrateSlot(slotOf(cluster, key!), to!);
    await a.set(key!, 'v2', {}, 60);
    await waitFor(() => seen.includes('v2'), 5000, 'B reading v2');
    await untilLocal(cluster, b, key!, 'v2'); // tracked again, now on the new master
    reading = false;
    await reader;
    expect(seen.slice(seen.indexOf('v2'))).not.toContain('v1');
    expect(seen).not.toContain(undefined); // the entry moved with its slot, it never went missing

    // The new master's tracking works: a write through A reaches B's local tier.
    await a.set(key!, 'v3', {}, 60);
    await untilLocal(cluster, b, key!, 'v3');
    expect(messages(errors).filter((m) => !/slots changed masters/.test(m))).toEqual([]);
  });

  test('a slot claimed behind its master’s back: the store notices, flushes and stays fresh', async () => {
    const a = makeStore();
    const b = makeStore();
    await trackingReady(cluster, 2);
    const [from, to, bystander] = masters;
    const [key] = await keysOn(cluster, from!, 1, 'claimed');
    // A warm entry on a third master shows the flush: it costs a round trip again.
    const [other] = await keysOn(cluster, bystander!, 1, 'bystander');
    for (const k of [key!, other!]) {
      await a.set(k, 'v1', {}, 60);
      await b.get(k);
      await untilLocal(cluster, b, k, 'v1');
    }
    const claimed = performance.now();
    // The old master drops the slot's keys without any invalidation: only the slot map says so.
    await cluster.claimSlot(slotOf(cluster, key!), to!);
    await waitFor(
      async () => !(await servedLocally(cluster, b, other!, 'v1')),
      5000,
      'B dropping its local tier',
    );
    // Within a slot-map check period or two (1 s each; 0.75–0.9 s measured), not just eventually.
    expect(performance.now() - claimed).toBeLessThan(3000);
    expect(messages(errors).some((m) => /slots changed masters/.test(m))).toBe(true);
    await a.set(key!, 'v2', {}, 60);
    expect((await b.get(key!))?.value).toBe('v2');
    await untilLocal(cluster, b, key!, 'v2');
    await a.set(key!, 'v3', {}, 60);
    await untilLocal(cluster, b, key!, 'v3');
  });
});

test('an invalidation planned on an outdated slot map still reaches every bucket', async () => {
  const store = makeStore({ tracking: false });
  const [from, to] = masters;
  const [moving] = await keysOn(cluster, from!, 1, 'moving');
  const others = (
    await Promise.all(masters.map((port) => keysOn(cluster, port, 3, 'stay')))
  ).flat();
  for (const key of [moving!, ...others]) await store.set(key, 'v', {}, 60, ['t']);
  // The store's cluster client still routes the slot to `from`: its per-master script fails
  // there, and the buckets it covered are invalidated one by one through the cluster's redirects.
  await cluster.migrateSlot(slotOf(cluster, moving!), to!);
  expect(await store.invalidateTags(['t'])).toBe(others.length + 1);
  for (const key of [moving!, ...others]) expect(await store.get(key)).toBeUndefined();
  expect(errors).toEqual([]);
});
