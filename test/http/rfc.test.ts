import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ADAPTERS,
  forbidUnhandledRejections,
  get,
  storedCount,
  useEnvironment,
  type BuiltApp,
} from './kit';

// RFC 9111 / 9110 details the public HTTP cache test suite (cache-tests.fyi) checks, each found
// failing there and pinned here per adapter: no-cache responses, Date and Age, Vary's first
// response, If-Modified-Since, header bytes passed through unchanged.

const env = useEnvironment();
forbidUnhandledRejections();

describe.each(ADAPTERS)('%s', (_name, kit) => {
  const build = (routes: Parameters<typeof env.build>[1]['routes']) =>
    env.build(kit, { cache: { store: env.store('redis', { tracking: false }) }, routes });

  test.each(['no-cache', 'No-Cache, max-age=3600'])(
    'a response with Cache-Control: %s is not stored (RFC 9111 5.2.2.4)',
    async (directives) => {
      let calls = 0;
      const app = await build([
        {
          path: '/nc',
          cache: {},
          handler: () => (calls++, { headers: { 'Cache-Control': directives }, text: 'x' }),
        },
      ]);
      await get(app, '/nc');
      await sleep(50);
      expect((await get(app, '/nc')).headers['x-cache']).toBe('MISS');
      expect(calls).toBe(2);
    },
  );

  test('a hit keeps the Date of the response and counts Age from it, and from the Age it came with', async () => {
    const app = await build([
      { path: '/dated', cache: { ttl: 60 }, handler: () => ({ text: 'dated' }) },
      {
        path: '/aged',
        cache: { ttl: 600 },
        handler: () => ({ headers: { Age: '30' }, text: 'aged' }),
      },
    ]);
    const miss = await get(app, '/dated');
    await get(app, '/aged');
    await storedCount(app, 2);
    await sleep(1100); // the next second: a fresh Date would differ
    const hit = await get(app, '/dated');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers.date).toBe(miss.headers.date);
    expect(Number(hit.headers.age)).toBeGreaterThanOrEqual(1);
    const aged = await get(app, '/aged');
    expect(Number(aged.headers.age)).toBeGreaterThanOrEqual(31);
  });

  test('the first response with Vary is stored, for the requests it varies with', async () => {
    let calls = 0;
    const app = await build([
      {
        path: '/v',
        cache: {},
        handler: (v) => (
          calls++,
          { headers: { Vary: 'X-Lang' }, text: `hello ${v.header('x-lang') ?? ''}` }
        ),
      },
    ]);
    const en = { 'X-Lang': 'en' };
    expect((await get(app, '/v', en)).headers['x-cache']).toBe('MISS');
    await storedCount(app, 1);
    const again = await get(app, '/v', en);
    expect(again.headers['x-cache']).toBe('HIT');
    expect(again.text).toBe('hello en');
    const fr = await get(app, '/v', { 'X-Lang': 'fr' });
    expect(fr.text).toBe('hello fr');
    await storedCount(app, 2);
    expect((await get(app, '/v', { 'X-Lang': 'fr' })).text).toBe('hello fr');
    expect((await get(app, '/v', en)).text).toBe('hello en');
    expect(calls).toBe(2);
  });

  test('If-Modified-Since is answered from the stored Last-Modified (RFC 9110 13.1.3, 13.2.2)', async () => {
    const lastModified = 'Wed, 01 Jan 2025 00:00:00 GMT';
    const app = await build([
      {
        path: '/lm',
        cache: {},
        handler: () => ({ headers: { 'Last-Modified': lastModified }, text: 'modified' }),
      },
    ]);
    await get(app, '/lm');
    await storedCount(app, 1);
    const same = await get(app, '/lm', { 'If-Modified-Since': lastModified });
    expect([same.status, same.headers['x-cache'], same.text]).toEqual([304, 'HIT', '']);
    const later = await get(app, '/lm', { 'If-Modified-Since': 'Thu, 01 Jan 2026 00:00:00 GMT' });
    expect(later.status).toBe(304);
    const earlier = await get(app, '/lm', { 'If-Modified-Since': 'Tue, 31 Dec 2024 00:00:00 GMT' });
    expect([earlier.status, earlier.text]).toEqual([200, 'modified']);
    // If-None-Match wins: a validator that does not match means a full answer.
    const both = await get(app, '/lm', {
      'If-Modified-Since': lastModified,
      'If-None-Match': '"other"',
    });
    expect(both.status).toBe(200);
    const garbage = await get(app, '/lm', { 'If-Modified-Since': 'yesterday' });
    expect(garbage.status).toBe(200);
  });

  test('header bytes outside ASCII (obs-text) pass through unchanged, on the miss and on a hit', async () => {
    const etag = Buffer.from('"abcdef\xfc"', 'latin1');
    const app = await build([
      {
        path: '/obs',
        cache: {},
        handler: () => ({ headers: { ETag: etag.toString('latin1') }, text: 'obs' }),
      },
    ]);
    const miss = await rawHeader(app, '/obs', 'etag');
    await storedCount(app, 1);
    const hit = await rawHeader(app, '/obs', 'etag');
    expect(miss).toEqual(etag);
    expect(hit).toEqual(etag);
  });
});

describe.each(ADAPTERS)('%s, freshness: headers', (_name, kit) => {
  test('freshness comes from the response; an expired entry is revalidated and a 304 refreshes it', async () => {
    let calls = 0;
    const seen: (string | undefined)[] = [];
    const app = await env.build(kit, {
      cache: { store: env.store('redis', { tracking: false }), freshness: 'headers' },
      routes: [
        {
          path: '/fresh',
          cache: {},
          handler: (v) => {
            calls++;
            seen.push(v.header('if-none-match'));
            return {
              headers: { 'Cache-Control': 'max-age=1', ETag: '"v1"' },
              text: 'body v1',
              conditional: true,
            };
          },
        },
        { path: '/unstated', cache: {}, handler: () => (calls++, { text: 'no freshness' }) },
      ],
    });
    await get(app, '/fresh');
    await storedCount(app, 1);
    expect((await get(app, '/fresh')).headers['x-cache']).toBe('HIT');
    await sleep(1100);
    const revalidated = await get(app, '/fresh');
    expect([revalidated.status, revalidated.text]).toEqual([200, 'body v1']);
    expect(revalidated.headers['x-cache']).toBe('REVALIDATED');
    // The handler was asked with the stored ETag (Koa's conditional middleware sets its own).
    expect(seen[0]).toBeUndefined();
    expect(seen[1]).toMatch(kit.framework === 'express' ? /^"v1"$/ : /^W\//);
    await storedCount(app, 2);
    expect((await get(app, '/fresh')).headers['x-cache']).toBe('HIT');
    // Without freshness of its own (and no route ttl as heuristic), nothing is stored.
    const before = calls;
    await get(app, '/unstated');
    await sleep(50);
    expect((await get(app, '/unstated')).headers['x-cache']).toBe('MISS');
    expect(calls - before).toBe(2);
  });
});

/** The bytes of one response header, as they came over the wire. */
async function rawHeader(app: BuiltApp, path: string, name: string): Promise<Buffer | undefined> {
  const { port } = app.server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path }, (res) => {
      res.resume();
      const i = res.rawHeaders.findIndex((h, n) => n % 2 === 0 && h.toLowerCase() === name);
      // Node's parser reads header bytes as latin1: one char per byte, so this is lossless.
      resolve(i === -1 ? undefined : Buffer.from(res.rawHeaders[i + 1]!, 'latin1'));
    });
    req.on('error', reject);
  });
}
