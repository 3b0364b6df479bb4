import { RedisCacheStore } from '@restash/core';
import { startRedis, waitFor, type RedisHandle } from '../../../test/harness';

// The scripts are loaded into a server's cache as soon as the store's connection to it is ready:
// after a restart the first calls find them by SHA, instead of each call in flight getting
// NOSCRIPT and sending the whole source.

let redis: RedisHandle;
let store: RedisCacheStore;
let errors: unknown[];

beforeAll(async () => {
  redis = await startRedis({ owned: true });
});
afterAll(async () => {
  await store.close();
  await redis.stop();
});

/** The SHAs of the scripts the store used before the restart. */
let shas: string[] = [];
const loaded = async (): Promise<boolean> =>
  ((await redis.admin().call('SCRIPT', 'EXISTS', ...shas)) as number[]).every((n) => n === 1);

test('after a restart, the scripts are loaded before any call, and calls send no EVAL', async () => {
  errors = [];
  store = new RedisCacheStore({
    clientOpts: redis.options(),
    tracking: false,
    errorCallback: (err) => errors.push(err),
  });
  await store.set('k', 'v', {}, 60, ['t']);
  // What the store sent by SHA so far tells which scripts there are.
  const monitor = await redis.monitor();
  await store.get('k');
  await store.lease('x', ['t']);
  await store.invalidateTags(['none']);
  shas = (await monitor.commands()).filter(([name]) => name === 'evalsha').map(([, sha]) => sha!);
  await monitor.stop();
  expect(shas.length).toBe(3);

  await redis.kill();
  await redis.restart();
  await waitFor(loaded, 5000, 'the scripts in the new server’s cache');
  const after = await redis.monitor();
  await store.set('k', 'v', {}, 60, ['t']);
  await Promise.all(Array.from({ length: 20 }, () => store.get('k')));
  const sent = (await after.commands()).map(([name]) => name);
  await after.stop();
  expect(sent).not.toContain('eval');
  expect(sent.filter((name) => name === 'evalsha')).toHaveLength(21);
});
