import { setTimeout as sleep } from 'node:timers/promises';
import { RedisCacheStore } from '@restash/core';
import { startRedis, waitFor, type RedisHandle } from '../../../test/harness';

// A Redis that stops answering costs the store a few timeouts, then nothing: after 3 timeouts in
// a row it stops calling Redis for 1 s (doubling, up to 30 s, while probes time out), reads miss
// at once and writes reject at once; one call per pause probes, and the first answer closes it.

const TIMEOUT_MS = 100;
/** A timed-out call measured from outside: libuv's millisecond clock can fire a timer ~1 ms early. */
const TIMED_OUT_MS = TIMEOUT_MS - 5;
let redis: RedisHandle;
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
  store = new RedisCacheStore({
    clientOpts: { ...redis.options(), commandTimeout: TIMEOUT_MS },
    tracking: false,
    errorCallback: (err) => errors.push(err),
  });
  await store.set('k', 'v', {}, 60, ['t']);
});
afterEach(async () => {
  await store.close();
});

/** Milliseconds `work` took. */
async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

test('CLIENT PAUSE: three reads wait out the timeout, the next ones miss at once', async () => {
  await redis.admin().call('CLIENT', 'PAUSE', '1500', 'ALL');
  const reads: number[] = [];
  for (let i = 0; i < 20; i++) reads.push(await timed(() => store.get('k')));
  expect(reads.filter((ms) => ms >= TIMED_OUT_MS)).toHaveLength(3);
  expect(reads.slice(3).every((ms) => ms < 50)).toBe(true);
  // Writes reject at once too, and say why.
  const write = store.set('k2', 'v', {}, 60);
  await expect(write).rejects.toThrow(/circuit open/);
  expect(errors.some((err) => /timed out 3 times in a row/.test(String(err)))).toBe(true);
  // Once Redis answers again, the first probe after the pause closes the circuit.
  await waitFor(async () => (await store.get('k'))?.value === 'v', 5000, 'reads served again');
  await expect(store.set('k2', 'v', {}, 60)).resolves.toBeUndefined();
});

test('a probe that times out doubles the pause', async () => {
  await redis.admin().call('CLIENT', 'PAUSE', '3500', 'ALL');
  for (let i = 0; i < 3; i++) await store.get('k'); // opens: 1 s
  await sleep(1050);
  expect(await timed(() => store.get('k'))).toBeGreaterThanOrEqual(TIMED_OUT_MS); // the probe
  expect(await timed(() => store.get('k'))).toBeLessThan(50);
  expect(errors.some((err) => /again in 2000 ms/.test(String(err)))).toBe(true);
  await sleep(2500);
});

test('errors other than timeouts (a stopped server fails fast) do not open it', async () => {
  await redis.kill();
  // Once the client has seen the connection close: a command written just before could time out.
  await sleep(200);
  for (let i = 0; i < 5; i++) await store.get('k');
  expect(errors.some((err) => /circuit|in a row/.test(String(err)))).toBe(false);
  await redis.restart();
});
