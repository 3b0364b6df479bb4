import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import Koa2 from 'koa2';
import Koa3 from 'koa3';
import type Koa from 'koa';
import type { Context, Next } from 'koa';
import { createCache } from '@restash/koa';
import { forbidUnhandledRejections, get, storedCount, useEnvironment, type BuiltApp } from './kit';
import { listen, stopServer } from './kit/shared';

// Koa-only details: which ctx.body values are captured, and that a hit ends the middleware chain.

const env = useEnvironment();
forbidUnhandledRejections();

type KoaClass = typeof Koa;
const KOA: [string, KoaClass][] = [
  ['koa2', Koa2 as unknown as KoaClass],
  ['koa3', Koa3 as unknown as KoaClass],
];

describe.each(KOA)('%s', (name, KoaApp) => {
  let built: BuiltApp | undefined;
  afterEach(async () => {
    await built?.close();
    built = undefined;
  });

  async function app(setup: (app: Koa, cache: ReturnType<typeof createCache>) => void) {
    const native = new KoaApp();
    native.silent = true;
    const cache = createCache({
      store: env.store('redis', { tracking: false }),
      statuses: [200, 404],
    });
    setup(native, cache);
    const server = await listen(native.callback());
    built = {
      server,
      cache,
      native,
      close: async () => {
        await stopServer(server);
        await cache.close();
      },
    };
    return built;
  }

  test('on a hit, downstream middleware does not run', async () => {
    const ran: string[] = [];
    const a = await app((native, cache) => {
      native.use(cache.route());
      native.use(async (_ctx: Context, next: Next) => {
        ran.push('downstream');
        await next();
      });
      native.use((ctx: Context) => {
        ran.push('handler');
        ctx.body = { ok: true };
      });
    });
    await get(a, '/');
    await storedCount(a, 1);
    const hit = await get(a, '/');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.text).toBe('{"ok":true}');
    expect(ran).toEqual(['downstream', 'handler']);
  });

  const bodies: [string, () => unknown][] = [['a Node stream', () => Readable.from(['s', 't'])]];
  if (name === 'koa3') {
    // Body types Koa 3 added (Koa 2 would JSON-serialize them).
    bodies.push(
      ['a web ReadableStream', () => Readable.toWeb(Readable.from(['s', 't']))],
      ['a Blob', () => new Blob(['st'])],
      ['a Response', () => new Response('st')],
    );
  }
  test.each(bodies)('ctx.body as %s is sent and not stored', async (_kind, body) => {
    let calls = 0;
    const a = await app((native, cache) => {
      native.use(cache.route());
      native.use((ctx: Context) => {
        calls++;
        ctx.body = body();
      });
    });
    for (let i = 0; i < 2; i++) {
      const answer = await get(a, '/');
      expect(answer.text).toBe('st');
      expect(answer.headers['x-cache']).toBe('MISS');
    }
    expect(calls).toBe(2);
  });

  test('a response whose declared Content-Length disagrees with its body is not stored', async () => {
    const a = await app((native, cache) => {
      native.use(cache.route());
      native.use((ctx) => {
        ctx.body = Buffer.from('x'.repeat(36));
        ctx.set('Content-Length', '10');
      });
    });
    const xCache = () =>
      new Promise<unknown>((resolve) => {
        const { port } = a.server.address() as AddressInfo;
        const req = http.get({ host: '127.0.0.1', port, path: '/cl', agent: false }, (res) => {
          resolve(res.headers['x-cache']);
          res.resume();
        });
        req.on('error', () => {}); // the 26 bytes past the declared length
      });
    expect(await xCache()).toBe('MISS');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(a.cache.stats().stores).toBe(0);
    expect(await xCache()).toBe('MISS');
  });

  test('an unset ctx.body: what Koa writes (its own 404 text) is what is stored', async () => {
    const a = await app((native, cache) => {
      native.use(cache.route());
      native.use(() => {});
    });
    const xCache = [];
    for (let i = 0; i < 2; i++) {
      const answer = await get(a, '/nothing');
      expect(answer.status).toBe(404);
      expect(answer.text).toBe('Not Found');
      xCache.push(answer.headers['x-cache']);
      await storedCount(a, 1);
    }
    expect(xCache).toEqual(['MISS', 'HIT']);
  });
});
