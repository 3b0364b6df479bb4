import { createServer, type Server } from 'node:http';
import request from 'supertest';
import { RedisCacheStore } from '@restash/core';
import { startRedis, waitFor, type RedisHandle } from '../../test/harness';
import { createApp as createExpressApp } from '../express/src/app';
import { createApp as createKoaApp } from '../koa/src/app';
import { parseSamples, sampleValue, type Sample } from './prometheus';

// The Prometheus recipe (examples/shared/src/metrics.ts) as a user scrapes it: the example app on
// a real Redis, a miss, hits (local tier included), an invalidation, then Redis down; and
// /metrics after each.

const LIST = '/api/products';

async function scrape(server: Server): Promise<Sample[]> {
  const res = await request(server).get('/metrics').expect(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseSamples(res.text);
}

describe('Prometheus metrics of the Express example on Redis', () => {
  let redis: RedisHandle;
  let store: RedisCacheStore;
  let example: ReturnType<typeof createExpressApp>;
  let server: Server;
  const errors: unknown[] = [];

  beforeAll(async () => {
    // Owned: the test changes its ACL.
    redis = await startRedis({ owned: true });
    // The store's own reports (a read that Redis refused) are not the cache's: kept quiet here.
    store = new RedisCacheStore({ clientOpts: redis.options(), errorCallback: () => {} });
    example = createExpressApp({ store, dbLatencyMs: 1, onError: (err) => errors.push(err) });
    server = createServer(example.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await example?.close();
    await store?.close();
    await redis?.stop();
  });

  const get = (path: string) => request(server).get(path).expect(200);

  it('counts lookups per route and outcome, stores, local hits and invalidations', async () => {
    expect((await get(`${LIST}?category=books`)).headers['x-cache']).toBe('MISS');
    // The store lands after the response: wait for it rather than race it.
    const stored = async (count: number) =>
      sampleValue(await scrape(server), 'restash_stores_total', {
        route: LIST,
        result: 'stored',
      }) === count;
    await waitFor(() => stored(1), 2000, 'the first store');

    // The first hit comes from Redis and fills the local tier (once tracking is confirmed).
    let hits = 0;
    await waitFor(
      async () => {
        expect((await get(`${LIST}?category=books`)).headers['x-cache']).toBe('HIT');
        hits++;
        return example.cache.stats().localHits > 0;
      },
      3000,
      'a local-tier hit',
    );

    await request(server)
      .put(`${LIST}/1`)
      .send({ name: 'Renamed', category: 'books', price: 1 })
      .expect(200);
    expect((await get(`${LIST}?category=books`)).headers['x-cache']).toBe('MISS');
    await waitFor(() => stored(2), 2000, 'the second store');

    const samples = await scrape(server);
    const value = (name: string, labels?: Record<string, string>) =>
      sampleValue(samples, name, labels);
    // Per route and outcome: the hit ratio is hit / (hit + miss) here.
    const outcomes = samples
      .filter((s) => s.name === 'restash_lookups_total' && s.labels.route === LIST)
      .map((s) => [s.labels.outcome, s.value]);
    expect(outcomes.sort()).toEqual([
      ['hit', hits],
      ['miss', 2],
    ]);
    expect(value('restash_local_hits_total')).toBe(example.cache.stats().localHits);
    expect(value('restash_local_hits_total')).toBeGreaterThanOrEqual(1);
    // One invalidation (the PUT's), which dropped the list entry.
    expect(value('restash_invalidation_duration_seconds_count', { result: 'ok' })).toBe(1);
    expect(value('restash_invalidation_duration_seconds_sum', { result: 'ok' })).toBeGreaterThan(0);
    expect(
      value('restash_invalidation_duration_seconds_bucket', { result: 'ok', le: '+Inf' }),
    ).toBe(1);
    expect(value('restash_invalidated_entries_total')).toBe(1);
    // /metrics itself is not a cached route, and nothing failed.
    expect(samples.some((s) => s.labels.route === '/metrics')).toBe(false);
    expect(samples.filter((s) => s.name === 'restash_errors_total')).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('counts why responses were not cached, and failed invalidations as errors', async () => {
    // A 404 is answered and not stored (statuses: [200]).
    await request(server).get(`${LIST}/999`).expect(404);
    // Redis refusing the store's scripts (an ACL without them): reads miss without a lease, so
    // nothing is stored, and a write's invalidation fails: the write still succeeds, the cache
    // reports the error (and would retry a failure that retrying can help).
    const admin = redis.admin();
    await admin.call('ACL', 'SETUSER', 'default', '-@scripting');
    try {
      await get(`${LIST}?category=pantry`);
      await request(server)
        .put(`${LIST}/2`)
        .send({ name: 'Renamed', category: 'books', price: 1 })
        .expect(200);
    } finally {
      await admin.call('ACL', 'SETUSER', 'default', '+@all');
    }

    const samples = await scrape(server);
    const value = (name: string, labels?: Record<string, string>) =>
      sampleValue(samples, name, labels);
    expect(value('restash_uncached_total', { route: `${LIST}/:id`, reason: 'status' })).toBe(1);
    expect(value('restash_uncached_total', { route: LIST, reason: 'no-lease' })).toBe(1);
    expect(value('restash_invalidation_duration_seconds_count', { result: 'error' })).toBe(1);
    // The NOPERM reply, and the note that an invalidation refused so will not be retried.
    expect(value('restash_errors_total', { kind: 'ReplyError' })).toBe(1);
    const failures = samples.filter((s) => s.name === 'restash_errors_total');
    const counted = failures.reduce((sum, s) => sum + s.value, 0);
    expect(counted).toBe(example.cache.stats().errors);
    expect(counted).toBe(errors.length);
  });
});

test('the Koa example serves the same metrics', async () => {
  const example = createKoaApp({ dbLatencyMs: 0 });
  const server = createServer(example.app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await request(server).get(LIST).expect(200);
    await request(server).get(LIST).expect(200);
    const samples = await scrape(server);
    expect(sampleValue(samples, 'restash_lookups_total', { route: LIST, outcome: 'miss' })).toBe(1);
    expect(sampleValue(samples, 'restash_lookups_total', { route: LIST, outcome: 'hit' })).toBe(1);
    // The in-memory store answers every hit from process memory.
    expect(sampleValue(samples, 'restash_local_hits_total')).toBe(1);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await example.close();
  }
});
