import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express4 from 'express4';
import express5 from 'express5';
import type { Express, NextFunction, Request, Response } from 'express';
import { createCache } from '@restash/express';
import { forbidUnhandledRejections, get, storedCount, useEnvironment, type BuiltApp } from './kit';
import { listen, stopServer } from './kit/shared';

// Express-only details of capture and replay: res.send with objects, res.end, and proof that a
// hit bypasses res.json (Express's serializer settings cannot change a hit).

const env = useEnvironment();
forbidUnhandledRejections();

type Factory = () => Express;
const EXPRESS: [string, Factory][] = [
  ['express4', express4 as unknown as Factory],
  ['express5', express5 as unknown as Factory],
];

describe.each(EXPRESS)('%s', (_name, factory) => {
  let built: BuiltApp | undefined;
  afterEach(async () => {
    await built?.close();
    built = undefined;
  });

  async function app(setup: (app: Express, cache: ReturnType<typeof createCache>) => void) {
    const native = factory();
    const cache = createCache({ store: env.store('redis', { tracking: false }) });
    setup(native, cache);
    const server = await listen(native);
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

  test('res.send(object) is stored as the JSON bytes Express sent', async () => {
    const a = await app((native, cache) =>
      native.get('/o', cache.route(), (_req, res) => void res.send({ sent: 'as object' })),
    );
    const miss = await get(a, '/o');
    await storedCount(a, 1);
    const hit = await get(a, '/o');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.text).toBe('{"sent":"as object"}');
    expect(hit.headers['content-type']).toBe(miss.headers['content-type']);
  });

  test('a response whose declared Content-Length disagrees with its body is not stored', async () => {
    const a = await app((native, cache) =>
      native.get('/cl', cache.route(), (_req, res) => {
        res.setHeader('Content-Length', '10');
        res.end(Buffer.from('x'.repeat(36)));
      }),
    );
    // The client reads 10 bytes, then chokes on the rest: only its headers matter here.
    const xCache = () =>
      new Promise<unknown>((resolve) => {
        const { port } = a.server.address() as AddressInfo;
        const req = http.get({ host: '127.0.0.1', port, path: '/cl', agent: false }, (res) => {
          resolve(res.headers['x-cache']);
          res.resume();
        });
        req.on('error', () => {});
      });
    expect(await xCache()).toBe('MISS');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(a.cache.stats().stores).toBe(0);
    expect(await xCache()).toBe('MISS');
  });

  test('res.end(bytes) without a content-type is replayed without one', async () => {
    const a = await app((native, cache) =>
      native.get('/raw', cache.route(), (_req, res) => void res.end(Buffer.from('raw bytes'))),
    );
    await get(a, '/raw');
    await storedCount(a, 1);
    const hit = await get(a, '/raw');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.text).toBe('raw bytes');
    expect(hit.headers['content-type']).toBeUndefined();
  });

  test('a hit does not call res.json: serializer settings changed later do not show', async () => {
    let jsonCalls = 0;
    const a = await app((native, cache) => {
      native.use((_req: Request, res: Response, next: NextFunction) => {
        const json = res.json.bind(res);
        res.json = (body: unknown) => (jsonCalls++, json(body));
        next();
      });
      native.get('/j', cache.route(), (_req, res) => void res.json({ a: 'b' }));
    });
    await get(a, '/j');
    await storedCount(a, 1);
    expect(jsonCalls).toBe(1);
    const native = a.native as Express;
    native.set('json spaces', 2);
    native.set('json replacer', (_key: string, value: unknown) =>
      typeof value === 'string' ? value.toUpperCase() : value,
    );
    const hit = await get(a, '/j');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.text).toBe('{"a":"b"}');
    expect(jsonCalls).toBe(1);
  });
});
