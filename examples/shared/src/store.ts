import { Redis } from 'ioredis';
import { RedisCacheStore, type RedisCacheStoreOptions } from '@restash/core';

type ClientOptions = NonNullable<RedisCacheStoreOptions['clientOpts']>;

/** The store the example runs on, and how to describe it on start. */
export interface ChosenStore {
  /** `undefined`: let `createCache` make its in-memory store. */
  store: RedisCacheStore | undefined;
  description: string;
}

/**
 * A `RedisCacheStore` when `redisUrl` (REDIS_URL) is set, else none: `createCache` then keeps
 * responses in process memory, which is all a single instance needs.
 */
export function chooseStore(redisUrl: string | undefined): ChosenStore {
  if (!redisUrl) {
    return {
      store: undefined,
      description: 'in-memory (MemoryCacheStore); set REDIS_URL=redis://localhost:6379 for Redis',
    };
  }
  const clientOpts = redisOptionsFromUrl(redisUrl);
  // No errorCallback: the default one is throttled, so a Redis outage prints a line now and then
  // instead of one per request.
  const store = new RedisCacheStore({
    // A prefix keeps the example's keys apart from anything else in that Redis.
    clientOpts: { ...clientOpts, keyPrefix: 'restash-example:' },
  });
  return { store, description: `Redis at ${safeUrl(redisUrl)} (RedisCacheStore, tracking on)` };
}

/**
 * `undefined` when the Redis at `redisUrl` answers PING, else why not. For a demo that is
 * pointless without Redis: the cache alone would only report the outage and serve misses.
 */
export async function checkRedis(redisUrl: string): Promise<string | undefined> {
  const client = new Redis({
    ...redisOptionsFromUrl(redisUrl),
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // The connection's own error (ECONNREFUSED…) says more than the rejection ("Connection is
  // closed"); listening also keeps ioredis from printing it.
  let cause: unknown;
  client.on('error', (err: unknown) => (cause ??= err));
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (err) {
    const { message } = (cause ?? err) as Error;
    return `Redis at ${safeUrl(redisUrl)} does not answer (${message})`;
  } finally {
    client.disconnect();
  }
}

/** ioredis options from a `redis://` or `rediss://` URL: host, port, user, password and db. */
export function redisOptionsFromUrl(redisUrl: string): ClientOptions {
  const url = new URL(redisUrl);
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new TypeError(
      `REDIS_URL must start with redis:// or rediss://, got ${safeUrl(redisUrl)}`,
    );
  }
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : undefined;
  if (db !== undefined && !Number.isInteger(db))
    throw new TypeError(`REDIS_URL's path must be a database number, got ${url.pathname}`);
  return {
    host: url.hostname || 'localhost',
    port: url.port ? Number(url.port) : 6379,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(db !== undefined ? { db } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** The URL without its password, for logs. */
export function safeUrl(redisUrl: string): string {
  try {
    const url = new URL(redisUrl);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparsable URL)';
  }
}
