import { RedisCacheStore } from '@restash/core';
import { startRedisCluster, waitFor, type ClusterHandle } from '../harness';
import { denials, documentedRules, PASSWORD, PREFIX, USER } from './support';

// The checklist's ACL line plus what it says a cluster needs (ioredis's slot map and ready check),
// set on every node: two stores on a 3-master cluster work under it, their local tiers kept
// coherent, and no node refused anything.

let cluster: ClusterHandle;
const stores: RedisCacheStore[] = [];
const errors: unknown[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
  for (const { port } of cluster.nodes) {
    await cluster.onNode(port, async (conn) => {
      const rules = documentedRules(await conn.info('server'), { cluster: true });
      await conn.call('ACL', 'SETUSER', USER, ...rules);
      await conn.call('ACL', 'LOG', 'RESET');
    });
  }
});

afterAll(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
  await cluster?.stop();
});

function makeStore(): RedisCacheStore {
  const store = new RedisCacheStore({
    cluster: {
      nodes: cluster.startupNodes,
      options: {
        keyPrefix: PREFIX,
        // Patient commands: a loaded machine must not turn a slow reply into a miss here.
        redisOptions: { username: USER, password: PASSWORD, commandTimeout: 2000 },
      },
    },
    errorCallback: (err) => errors.push(err),
  });
  stores.push(store);
  return store;
}

test('two stores on a cluster: writes, tracking and invalidation across masters', async () => {
  const a = makeStore();
  const b = makeStore();
  const keys = Array.from({ length: 30 }, (_, i) => `k${i}`); // spread over the masters
  await Promise.all(keys.map((key) => a.set(key, 'v1', {}, 60, ['products'])));
  await waitFor(
    async () => (await b.get('k1')) !== undefined && b.peek('k1') !== undefined,
    8000,
    'k1 served locally',
  );
  await a.set('k1', 'v2', {}, 60, ['products']);
  await waitFor(() => b.peek('k1') === undefined, 2000, 'a write reaches the other store');
  expect((await b.get('k1'))?.value).toBe('v2');

  // One script per master, each deleting the tag's version in every bucket it serves.
  expect(await b.invalidateTags(['products'])).toBe(keys.length);
  expect(await a.get('k2')).toBeUndefined();
  await Promise.all(stores.map((store) => store.close()));

  expect(errors).toEqual([]);
  for (const { port } of cluster.nodes) {
    expect(await cluster.onNode(port, (conn) => denials(conn))).toEqual([]);
  }
});
