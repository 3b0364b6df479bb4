import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LookupStatus } from '@restash/core';
import { waitFor } from '../harness';
import {
  ADAPTERS,
  call,
  forbidUnhandledRejections,
  gate,
  get,
  storedCount,
  useEnvironment,
  type RouteSpec,
} from './kit';

// The cache explains itself: the RFC 9211 Cache-Status header on every response of a cached
// route (with the reason when it did not store or serve), and the restash:* diagnostics
// channels that metrics and tracing hang on.

const env = useEnvironment();
forbidUnhandledRejections();

const ROUTES: RouteSpec[] = [
  { path: '/ok', cache: { tags: ['ok'] }, handler: () => ({ text: 'ok' }) },
  {
    path: '/cookie',
    cache: {},
    handler: () => ({ headers: { 'Set-Cookie': 'sid=1' }, text: 'personal' }),
  },
  { path: '/fail', cache: {}, handler: () => ({ status: 500, text: 'failed' }) },
  {
    path: '/no-store',
    cache: {},
    handler: () => ({ headers: { 'Cache-Control': 'no-store' }, text: 'secret' }),
  },
  { path: '/stream', cache: {}, handler: () => ({ stream: ['a', 'b'] }) },
  { path: '/ok', method: 'post', cache: {}, handler: () => ({ text: 'posted' }) },
];

describe.each(ADAPTERS)('%s', (_name, kit) => {
  const build = (cacheStatus?: boolean) =>
    env.build(kit, {
      cache: { store: env.store('redis', { tracking: false }), cacheStatus, maxKeyLength: 300 },
      routes: ROUTES,
    });

  test('Cache-Status says what the cache did, and why it did not store or serve', async () => {
    const app = await build();
    const status = async (path: string, headers?: Record<string, string>) =>
      (await get(app, path, headers)).headers['cache-status'];
    expect(await status('/ok')).toBe('restash; fwd=uri-miss; stored');
    await storedCount(app, 1);
    expect(await status('/ok')).toMatch(/^restash; hit; ttl=(59|60)$/);
    expect(await status('/cookie')).toBe('restash; fwd=uri-miss; detail=set-cookie');
    expect(await status('/fail')).toBe('restash; fwd=uri-miss; detail=status');
    expect(await status('/no-store')).toBe('restash; fwd=uri-miss; detail=no-store');
    expect(await status('/stream')).toBe('restash; fwd=uri-miss; detail=streamed');
    expect(await status('/ok', { Authorization: 'Bearer x' })).toBe(
      'restash; fwd=bypass; detail=authorization',
    );
    expect(await status('/ok', { 'Cache-Control': 'no-store' })).toBe(
      'restash; fwd=bypass; detail=no-store',
    );
    expect(await status(`/ok?q=${'x'.repeat(400)}`)).toBe(
      'restash; fwd=bypass; detail=key-too-long',
    );
    expect((await call(app, 'post', '/ok')).headers['cache-status']).toBe(
      'restash; fwd=bypass; detail=method',
    );
  });

  test('Cache-Status of a request collapsed into a concurrent one', async () => {
    const open = gate();
    const app = await env.build(kit, {
      cache: { store: env.store('redis', { tracking: false }) },
      routes: [
        { path: '/slow', cache: {}, handler: () => open.promise.then(() => ({ text: 's' })) },
      ],
    });
    const first = get(app, '/slow');
    await sleep(50);
    const second = get(app, '/slow');
    await sleep(50);
    open.open();
    expect((await first).headers['cache-status']).toBe('restash; fwd=uri-miss; stored');
    expect((await second).headers['cache-status']).toMatch(
      /^restash; fwd=uri-miss; collapsed; ttl=(59|60)$/,
    );
  });

  test('cacheStatus: false sends no Cache-Status', async () => {
    const app = await build(false);
    expect((await get(app, '/ok')).headers['cache-status']).toBeUndefined();
  });

  test('lookups, stores, invalidations and errors are published on restash:* channels', async () => {
    const seen: Record<string, unknown[]> = { lookup: [], store: [], invalidate: [], error: [] };
    const listeners = Object.keys(seen).map((name) => {
      const listener = (message: unknown): void => void seen[name]!.push(message);
      subscribe(`restash:${name}`, listener);
      return [`restash:${name}`, listener] as const;
    });
    try {
      const app = await env.build(kit, {
        cache: { store: env.store('redis', { tracking: false }), onError: () => {} },
        routes: [
          { path: '/ok', cache: { name: 'ok', tags: ['ok'] }, handler: () => ({ text: 'ok' }) },
          {
            path: '/broken',
            cache: { key: () => ({}) as string },
            handler: () => ({ text: 'broken' }),
          },
        ],
      });
      await get(app, '/ok');
      await storedCount(app, 1);
      await get(app, '/ok');
      await get(app, '/broken');
      await app.cache.invalidate({ tags: ['ok'] });
      await sleep(20);
      const lookups = seen.lookup as LookupStatus[];
      const ok = lookups.filter((l) => l.route === 'ok');
      expect(ok.map((l) => [l.outcome, l.stored])).toEqual([
        ['miss', true],
        ['hit', false],
      ]);
      expect(ok[0]!.key).toMatch(/^[0-9a-f]{16}$/);
      expect(ok[0]!.duration).toBeGreaterThanOrEqual(0);
      expect(lookups.some((l) => l.outcome === 'bypass' && l.reason === 'error')).toBe(true);
      expect(seen.store).toEqual([expect.objectContaining({ route: 'ok', stored: true })]);
      expect(seen.invalidate).toEqual([
        expect.objectContaining({ tags: ['ok'], removed: 1, error: undefined }),
      ]);
      expect(seen.error).toHaveLength(1);
    } finally {
      for (const [name, listener] of listeners) unsubscribe(name, listener);
    }
  });

  test('an entry over maxEntrySize is not stored, and restash:store says too-large', async () => {
    const seen: { stored: boolean; reason?: string }[] = [];
    const listener = (message: unknown): void => void seen.push(message as (typeof seen)[0]);
    subscribe('restash:store', listener);
    const errors: unknown[] = [];
    try {
      const app = await env.build(kit, {
        cache: {
          store: env.store('redis', { tracking: false, maxEntrySize: 2000 }),
          onError: (err) => errors.push(err),
        },
        routes: [{ path: '/big', cache: {}, handler: () => ({ text: 'x'.repeat(5000) }) }],
      });
      await get(app, '/big');
      await waitFor(() => seen.length === 1, 3000, 'the store message');
      expect(seen).toEqual([expect.objectContaining({ stored: false, reason: 'too-large' })]);
      // Too large is the route's nature, not trouble: onError does not hear of it.
      expect(errors).toEqual([]);
    } finally {
      unsubscribe('restash:store', listener);
    }
  });
});
