import { randomUUID } from 'node:crypto';
import {
  ADAPTERS,
  forbidUnhandledRejections,
  get,
  storedCount,
  useEnvironment,
  type AppSpec,
} from './kit';

// The cache among the middleware apps really mount before it: sessions that set cookies late,
// an envelope that rewrites bodies, cors, compression, tracing. What is stored is decided on what
// went on the wire; what a request's own upstream middleware contributes stays its own.

const env = useEnvironment();
forbidUnhandledRejections();

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 100));

describe.each(ADAPTERS)('%s', (_name, kit) => {
  const build = (spec: Omit<AppSpec, 'cache'>) =>
    env.build(kit, { cache: { store: env.store('redis', { tracking: false }) }, ...spec });

  test('a response its session middleware gives a Set-Cookie is neither stored nor served to another visitor', async () => {
    const app = await build({
      upstream: ['session'],
      routes: [
        {
          path: '/form',
          cache: {},
          handler: (v) => {
            const session = v.session()!;
            session.csrf ??= randomUUID();
            return { json: { csrf: session.csrf } };
          },
        },
      ],
    });
    const first = await get(app, '/form');
    expect(first.headers['set-cookie']).toBeDefined();
    await settle();
    const second = await get(app, '/form'); // another visitor: no cookie
    expect(second.text).not.toBe(first.text);
    expect(second.headers['x-cache']).not.toBe('HIT');
    expect(app.cache.stats().stores).toBe(0);
  });

  test('upstream middleware sees on a miss what it would see without the cache; a hit sends the same bytes', async () => {
    const app = await build({
      upstream: ['envelope'],
      routes: [{ path: '/data', cache: {}, handler: () => ({ json: { n: 1 } }) }],
    });
    const miss = await get(app, '/data');
    expect(JSON.parse(miss.text)).toEqual({ ok: true, data: { n: 1 } });
    await storedCount(app, 1);
    const hit = await get(app, '/data');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.text).toBe(miss.text);
    expect(hit.headers['content-type']).toBe(miss.headers['content-type']);
  });

  test('cors upstream: every answer names its own request’s origin, hits included', async () => {
    const app = await build({
      upstream: ['cors'],
      routes: [{ path: '/public', cache: {}, handler: () => ({ json: { open: true } }) }],
    });
    const a = { Origin: 'https://a.example' };
    // CORS answers vary on Origin: the first one only tells the cache so (see Vary).
    await get(app, '/public', a);
    const miss = await get(app, '/public', a);
    expect(miss.headers['access-control-allow-origin']).toBe('https://a.example');
    await storedCount(app, 1);
    const hit = await get(app, '/public', a);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers['access-control-allow-origin']).toBe('https://a.example');
    const other = await get(app, '/public', { Origin: 'https://b.example' });
    expect(other.headers['access-control-allow-origin']).toBe('https://b.example');
  });

  test('per-request headers, set upstream or by the handler, are never replayed', async () => {
    const app = await build({
      upstream: ['trace'],
      routes: [
        {
          path: '/traced',
          cache: { unstoredHeaders: ['X-Tenant-Hint'] },
          handler: () => ({
            headers: {
              'X-Amzn-Trace-Id': `Root=1-${randomUUID()}`,
              tracestate: `vendor=${randomUUID()}`,
              'X-Tenant-Hint': randomUUID(),
              'X-Kept': 'kept',
            },
            text: 'traced',
          }),
        },
      ],
    });
    const miss = await get(app, '/traced');
    await storedCount(app, 1);
    const hit = await get(app, '/traced');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers['x-kept']).toBe('kept');
    for (const name of ['x-trace-id', 'traceparent']) {
      expect(hit.headers[name]).toBeDefined(); // this request's own, from the upstream middleware
      expect(hit.headers[name]).not.toBe(miss.headers[name]);
    }
    for (const name of ['x-amzn-trace-id', 'tracestate', 'x-tenant-hint']) {
      expect(hit.headers[name]).toBeUndefined();
    }
  });

  if (kit.framework === 'express') {
    test('compression upstream: a hit is compressed like the miss and decodes to the same body', async () => {
      const app = await build({
        upstream: ['compression'],
        routes: [
          { path: '/big', cache: {}, handler: () => ({ json: { text: 'z'.repeat(5000) } }) },
        ],
      });
      const headers = { 'Accept-Encoding': 'gzip' };
      // compression adds Vary: Accept-Encoding as it writes: the first answer only says so.
      await get(app, '/big', headers);
      const miss = await get(app, '/big', headers);
      await storedCount(app, 1);
      const hit = await get(app, '/big', headers);
      expect(hit.headers['x-cache']).toBe('HIT');
      for (const answer of [miss, hit]) expect(answer.headers['content-encoding']).toBe('gzip');
      // supertest decodes gzip: equal text means both were valid gzip of the same JSON.
      expect(JSON.parse(hit.text)).toEqual({ text: 'z'.repeat(5000) });
      expect(hit.text).toBe(miss.text);
      const plain = await get(app, '/big', { 'Accept-Encoding': 'identity' });
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(JSON.parse(plain.text)).toEqual({ text: 'z'.repeat(5000) });
    });
  }
});
