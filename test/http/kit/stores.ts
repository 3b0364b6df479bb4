import type { CacheEntry, CacheStore, Lease, Lookup } from '@restash/core';

type Method =
  'get' | 'getOrLease' | 'set' | 'delete' | 'invalidateTags' | 'lease' | 'setLeased' | 'release';

/**
 * Delegates to a real store and lets a test watch and steer it: every call is logged, and a
 * method can be held on a promise the test resolves (to slow it down deterministically).
 */
export class ProbeStore implements CacheStore {
  readonly calls: { method: Method; args: unknown[] }[] = [];
  /** While set, calls of that method wait for the promise before reaching the real store. */
  readonly hold: Partial<Record<Method, Promise<void>>> = {};
  /** Called when a method is entered, before any hold. */
  onCall: (method: Method, args: unknown[]) => void = () => {};

  constructor(readonly inner: CacheStore) {}

  count(method: Method): number {
    return this.calls.filter((c) => c.method === method).length;
  }

  async #enter(method: Method, args: unknown[]): Promise<void> {
    this.calls.push({ method, args });
    this.onCall(method, args);
    await this.hold[method];
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    await this.#enter('get', [key]);
    return this.inner.get(key);
  }

  async getOrLease(
    key: string,
    tags?: readonly string[],
    options?: { lock?: number },
  ): Promise<Lookup> {
    await this.#enter('getOrLease', [key, tags, options]);
    return this.inner.getOrLease(key, tags, options);
  }

  async set(
    key: string,
    value: string | Buffer,
    metadata?: Record<string, unknown>,
    ttl?: number,
    tags?: readonly string[],
  ): Promise<void> {
    await this.#enter('set', [key, value, metadata, ttl, tags]);
    return this.inner.set(key, value, metadata, ttl, tags);
  }

  async delete(key: string): Promise<void> {
    await this.#enter('delete', [key]);
    return this.inner.delete(key);
  }

  async invalidateTags(tags: readonly string[]): Promise<number> {
    await this.#enter('invalidateTags', [tags]);
    return this.inner.invalidateTags(tags);
  }

  async lease(key: string, tags?: readonly string[]): Promise<Lease> {
    await this.#enter('lease', [key, tags]);
    return this.inner.lease(key, tags);
  }

  async setLeased(
    lease: Lease,
    value: string | Buffer,
    metadata?: Record<string, unknown>,
    ttl?: number,
    tags?: readonly string[],
  ): Promise<boolean> {
    await this.#enter('setLeased', [lease, value, metadata, ttl, tags]);
    return this.inner.setLeased(lease, value, metadata, ttl, tags);
  }

  async release(lease: Lease): Promise<void> {
    await this.#enter('release', [lease]);
    return this.inner.release?.(lease);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A store whose every call fails: by rejecting, or by throwing before returning a promise. */
export function brokenStore(how: 'reject' | 'throw'): CacheStore {
  const fail = (method: string) => () => {
    const err = new Error(`broken store: ${method}`);
    if (how === 'throw') throw err;
    return Promise.reject(err);
  };
  return {
    get: fail('get'),
    getOrLease: fail('getOrLease'),
    set: fail('set'),
    delete: fail('delete'),
    invalidateTags: fail('invalidateTags'),
    lease: fail('lease'),
    setLeased: fail('setLeased'),
    close: () => Promise.resolve(),
  };
}
