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
  const store = new RedisCacheStore({
    // A prefix keeps the example's keys apart from anything else in that Redis.
    clientOpts: { ...clientOpts, keyPrefix: 'restash-example:' },
    errorCallback: (err) => console.error('redis cache store:', err),
  });
  return { store, description: `Redis at ${safeUrl(redisUrl)} (RedisCacheStore, tracking on)` };
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
function safeUrl(redisUrl: string): string {
  try {
    const url = new URL(redisUrl);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparsable URL)';
  }
}
