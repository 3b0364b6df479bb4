import type { AddressInfo } from 'node:net';
import supertest from 'supertest';
import { MemoryCacheStore, RedisCacheStore, type CacheStore } from '@restash/core';
import { startRedis, waitFor, type RedisHandle } from '../../harness';
import { express4Kit, express5Kit } from './express';
import { koa2Kit, koa3Kit } from './koa';
import type { AppSpec, BuiltApp, Kit } from './types';

export type { AppSpec, BuiltApp, Kit, Reply, RouteSpec, View } from './types';

/** Every adapter the suite runs against: each `describe.each(ADAPTERS)` runs once per row. */
export const ADAPTERS: [string, Kit][] = [express4Kit, express5Kit, koa2Kit, koa3Kit].map((k) => [
  k.name,
  k,
]);

/** Which store backs an app: Redis (tracking on unless said otherwise) or in-process memory. */
export type StoreKind = 'redis' | 'memory';
export const STORES: StoreKind[] = ['redis', 'memory'];

/** A promise with its resolve exposed, for holding a handler or a store call until told. */
export interface Gate<T = void> {
  promise: Promise<T>;
  open(value: T): void;
}

export function gate<T = void>(): Gate<T> {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/** A response as the client got it, body as raw bytes. */
export interface Answer {
  status: number;
  headers: Record<string, string | undefined>;
  body: Buffer;
  text: string;
}

type Method = 'get' | 'head' | 'post' | 'put' | 'delete';

/** Sends one request and collects the raw response. */
export async function call(
  app: BuiltApp,
  method: Method,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  let test = supertest(app.server)[method](path);
  for (const [name, value] of Object.entries(headers)) test = test.set(name, value);
  if (body !== undefined) test = test.send(body);
  const res = await test.buffer(true).parse((stream, done) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => done(null, Buffer.concat(chunks)));
  });
  const bytes = Buffer.isBuffer(res.body) ? res.body : Buffer.alloc(0);
  return { status: res.status, headers: res.headers, body: bytes, text: bytes.toString() };
}

export const get = (app: BuiltApp, path: string, headers?: Record<string, string>) =>
  call(app, 'get', path, headers);

/** The Host header supertest sends, which the default key includes. */
export function hostOf(app: BuiltApp): string {
  return `127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/**
 * Per test file: one owned redis-server, and per test the apps and stores it builds, all closed
 * after each test (apps first, then stores, then nothing of Redis is left for the next test).
 */
export function useEnvironment(): {
  redis(): RedisHandle;
  /** Errors stores reported through errorCallback in this test. */
  storeErrors: unknown[];
  store(kind: StoreKind, options?: { tracking?: boolean; maxEntrySize?: number }): CacheStore;
  redisStore(options?: { tracking?: boolean; maxEntrySize?: number }): RedisCacheStore;
  build(kit: Kit, spec: AppSpec): Promise<BuiltApp>;
} {
  let redis: RedisHandle | undefined;
  let baselineTimers = 0;
  const apps: BuiltApp[] = [];
  const stores: CacheStore[] = [];
  const storeErrors: unknown[] = [];
  beforeAll(async () => {
    baselineTimers = activeTimers();
    redis = await startRedis({ owned: true });
  });
  afterAll(async () => {
    await redis?.stop();
    // An ioredis connection closed during its handshake (a store closed right after it was
    // created) keeps a 2 s timer that would hold the jest worker past its exit grace: wait
    // for such timers, when there are any.
    await waitFor(() => activeTimers() <= baselineTimers, 3000, 'ioredis timers').catch(() => {});
  });
  beforeEach(async () => {
    storeErrors.length = 0;
    await redis!.flush();
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });
  const redisStore = (options: { tracking?: boolean; maxEntrySize?: number } = {}) => {
    const store = new RedisCacheStore({
      clientOpts: redis!.options(),
      errorCallback: (err) => storeErrors.push(err),
      ...options,
    });
    stores.push(store);
    return store;
  };
  return {
    redis: () => redis!,
    storeErrors,
    redisStore,
    store(kind, options = {}) {
      if (kind === 'redis') return redisStore(options);
      const store = new MemoryCacheStore({ maxEntrySize: options.maxEntrySize });
      stores.push(store);
      return store;
    },
    async build(kit, spec) {
      const app = await kit.build(spec);
      apps.push(app);
      return app;
    },
  };
}

/** Timers keeping the process alive. */
function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
}

/**
 * Fails the file if any promise rejection goes unhandled while it runs: Redis trouble must never
 * surface as one.
 */
export function forbidUnhandledRejections(): void {
  const seen: unknown[] = [];
  const listener = (reason: unknown): void => void seen.push(reason);
  beforeAll(() => void process.on('unhandledRejection', listener));
  afterAll(() => {
    process.off('unhandledRejection', listener);
    expect(seen).toEqual([]);
  });
}

export { brokenStore, ProbeStore } from './stores';

/** Waits until the cache has stored `count` responses (stores happen after the response). */
export async function storedCount(app: BuiltApp, count: number): Promise<void> {
  await waitFor(() => app.cache.stats().stores >= count, 3000, `${count} stores`);
}
