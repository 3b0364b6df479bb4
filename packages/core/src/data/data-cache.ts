import { Flights } from '../http/flights.js';
import { safeReporter, throttledConsoleReporter, type ErrorReporter } from '../report.js';
import {
  resolveStampede,
  Stampede,
  STAMPEDE_WAIT_MS,
  type StampedeOptions,
} from '../store/stampede.js';
import type { CacheStore, Lease } from '../store/types.js';
import { toSeconds, type Duration } from '../duration.js';
import { checkFunction, checkKnownKeys, checkObject, checkStringArray } from '../validate.js';
import { JSON_CODEC, type Codec } from './codec.js';
import {
  checkWrapOptions,
  WrapTimeoutError,
  type FetchContext,
  type WrapOptions,
} from './wrap-options.js';

/** Options of {@link createDataCache}. */
export interface DataCacheOptions {
  /** Where values live: any `CacheStore` (the HTTP cache's, to share tags and invalidations). */
  store: CacheStore;
  /** How long a value is fresh when `wrap` does not say (seconds or a string). @default 60 */
  ttl?: Duration;
  /** How values are stored when `wrap` does not say. @default {@link JSON_CODEC} */
  codec?: Codec;
  /**
   * Hears every store error `wrap` absorbed (it then fetches, and returns the fetched value).
   * @default `console.error`, at most once per 10 s: an outage shows without a line per call
   */
  onError?: (err: unknown) => void;
  /**
   * Stampede protection across instances when `wrap` does not say: on a miss, one caller (of
   * every process sharing the store) runs `fetch` while the others wait for its value, at most
   * `wait` (seconds or a string such as `'500ms'`; also how long a caller that died keeps the
   * others waiting); `false` turns it off. See the README's "Stampede protection".
   * @default true: `{ wait: '5s' }`
   */
  stampede?: boolean | StampedeOptions;
}

/** What is stored beside a value (a type alias: the store takes any plain record). */
type DataMetadata = {
  kind: 'data';
  codec: string;
  storedAt: number;
  ttl: number;
  swr: number;
  sie: number;
};

/** A value a flight settles its waiters with. */
interface Fetched {
  value: unknown;
}

const KNOWN = ['store', 'ttl', 'codec', 'onError', 'stampede'];

/**
 * Cache-aside for code outside (or inside) routes: `wrap(key, fetch)` answers from the store, or
 * runs `fetch` once per key in this process (concurrent callers share it), and stores the value
 * under a lease taken before `fetch` ran, so a value an invalidation overtook is returned but not
 * stored. Tags and keys are shared with the HTTP cache: `invalidate({ tags: ['products'] })` drops
 * product list responses and cached `db.products.list()` values alike.
 */
export class DataCache {
  readonly #store: CacheStore;
  readonly #ttl: number;
  readonly #codec: Codec;
  readonly #report: ErrorReporter;
  readonly #flights = new Flights<Fetched>();
  /** Keys a background refresh is taking a lease for (before its flight starts). */
  readonly #refreshing = new Set<string>();
  readonly #fills: Stampede;
  /** The stampede wait in ms (`false`: off) when `wrap` does not set one. */
  readonly #wait: number | false;
  /** Background refreshes and slow fetches still running (so `close()` can wait for them). */
  readonly #pending = new Set<Promise<unknown>>();

  constructor(options: DataCacheOptions) {
    checkObject('options', options);
    checkKnownKeys('createDataCache', options, KNOWN);
    if (options === undefined || typeof options.store?.getOrLease !== 'function') {
      throw new TypeError('createDataCache needs a store (a CacheStore)');
    }
    checkFunction('onError', options.onError);
    checkWrapOptions({ codec: options.codec });
    this.#store = options.store;
    this.#ttl = toSeconds('ttl', options.ttl) ?? 60;
    this.#codec = options.codec ?? JSON_CODEC;
    this.#report = safeReporter(options.onError ?? throttledConsoleReporter('data cache'));
    this.#wait = resolveStampede('stampede', options.stampede) ?? STAMPEDE_WAIT_MS;
    this.#fills = new Stampede(this.#store, this.#report);
  }

  /**
   * The value cached under `key`, or what `fetch` returns (stored, unless `undefined`, or `null`
   * without `cacheNull`, or an invalidation of its tags came first). Store trouble never rejects:
   * `fetch` runs. `fetch` errors reject, unless a stale value may stand in (`staleIfError`).
   */
  async wrap<T>(
    key: string,
    fetch: (context: FetchContext) => T | Promise<T>,
    options: WrapOptions = {},
  ): Promise<T> {
    if (typeof key !== 'string') throw new TypeError('wrap key must be a string');
    checkFunction('fetch', fetch);
    checkWrapOptions(options);
    const storeKey = `data:${key}`;
    const tags = [...(options.tags ?? []), `key:${key}`];
    const codec = options.codec ?? this.#codec;
    // A fetch in progress here answers without asking the store.
    const running = await this.#flights.join(storeKey);
    if (running) return running.value as T;
    let lease: Lease | undefined;
    let stale: { value: unknown } | undefined;
    let found: { metadata: DataMetadata; value: unknown } | undefined;
    const wait = resolveStampede('stampede', options.stampede) ?? this.#wait;
    const led = (): boolean => this.#flights.join(storeKey) !== undefined;
    try {
      const read = await this.#fills.read(storeKey, tags, wait, led);
      lease = read.lease;
      found = read.entry && this.#decode(read.entry.metadata, read.entry.value, codec);
    } catch (err) {
      this.#report(err);
    }
    if (found) {
      const { metadata, value } = found;
      const age = (Date.now() - metadata.storedAt) / 1000;
      if (age < metadata.ttl) return value as T;
      if (age < metadata.ttl + metadata.swr) {
        // Answered at once; one refresh in the background, shared with anyone else asking.
        if (!this.#flights.join(storeKey) && !this.#refreshing.has(storeKey)) {
          this.#track(this.#refresh(storeKey, tags, fetch, options, codec, wait, value));
        }
        return value as T;
      }
      if (age < metadata.ttl + metadata.sie) stale = { value };
    }
    const flight = this.#flights.join(storeKey);
    if (flight) {
      // A fill lock this read took is the running fetch's business: let other instances go on.
      this.#track(this.#fills.release(lease));
      const shared = await flight;
      if (shared) return shared.value as T;
    }
    const work = this.#lead(storeKey, tags, fetch, options, codec, lease, stale?.value).finally(
      // Stored (the store released the fill lock) or not, other instances wait no more.
      () => this.#track(this.#fills.release(lease)),
    );
    return (await this.#within(key, work, options, stale)) as T;
  }

  /**
   * Drops the values stored under `tags`, or under `keys` (as `wrap` was given them), and the
   * fetches in progress. Rejects if the store fails (there is no retry here: the HTTP cache's
   * `invalidate` retries, and drops the same values).
   */
  async invalidate(spec: { keys?: readonly string[]; tags?: readonly string[] }): Promise<void> {
    checkObject('invalidate spec', spec);
    checkKnownKeys('invalidate', spec ?? {}, ['keys', 'tags']);
    checkStringArray('invalidate keys', spec.keys);
    checkStringArray('invalidate tags', spec.tags);
    const tags = [...(spec.tags ?? []), ...(spec.keys ?? []).map((key) => `key:${key}`)];
    this.forget();
    if (tags.length > 0) await this.#store.invalidateTags(tags);
  }

  /** Drops the flights in progress: later calls must not wait for values computed before. */
  forget(): void {
    this.#flights.clear();
  }

  /** Waits for background refreshes and slow fetches that are still storing. */
  async close(): Promise<void> {
    await Promise.allSettled(this.#pending);
  }

  /** Runs `fetch` as the flight's leader and stores what it returns. */
  /**
   * Refreshes a stale value in the background, once across instances: the lease takes the key's
   * fill lock, and an instance that finds it held leaves the refresh to its holder.
   */
  async #refresh<T>(
    storeKey: string,
    tags: string[],
    fetch: (context: FetchContext) => T | Promise<T>,
    options: WrapOptions,
    codec: Codec,
    wait: number | false,
    stale: unknown,
  ): Promise<void> {
    this.#refreshing.add(storeKey);
    let lease: Lease | undefined;
    try {
      const lock = wait === false ? undefined : { lock: wait };
      lease = await this.#safely(() => this.#store.lease(storeKey, tags, lock));
      if (lease?.fillLock?.state === 'busy') return;
      await this.#lead(storeKey, tags, fetch, options, codec, lease, stale);
    } finally {
      this.#refreshing.delete(storeKey);
      this.#track(this.#fills.release(lease));
    }
  }

  async #lead<T>(
    storeKey: string,
    tags: string[],
    fetch: (context: FetchContext) => T | Promise<T>,
    options: WrapOptions,
    codec: Codec,
    lease: Lease | undefined,
    stale: unknown,
  ): Promise<T> {
    const settle = this.#flights.lead(storeKey);
    let ttl = toSeconds('ttl', options.ttl) ?? this.#ttl;
    const context: FetchContext = {
      setTtl: (value) => {
        ttl = toSeconds('setTtl(ttl)', value) ?? ttl;
      },
      addTags: (...more) => void tags.push(...more),
      stale,
    };
    // Taken before fetch runs: an invalidation during it must refuse the store.
    lease ??= await this.#safely(() => this.#store.lease(storeKey, tags));
    let value: T;
    try {
      value = await fetch(context);
    } catch (err) {
      settle(undefined);
      throw err;
    }
    settle({ value });
    if (value === undefined || (value === null && !options.cacheNull) || !lease || ttl === 0) {
      return value;
    }
    const swr = toSeconds('staleWhileRevalidate', options.staleWhileRevalidate) ?? 0;
    const sie = toSeconds('staleIfError', options.staleIfError) ?? 0;
    const metadata: DataMetadata = {
      kind: 'data',
      codec: codec.name,
      storedAt: Date.now(),
      ttl,
      swr,
      sie,
    };
    const stored = lease;
    await this.#safely(() =>
      this.#store.setLeased(stored, codec.encode(value), metadata, ttl + Math.max(swr, sie), tags),
    );
    return value;
  }

  /** A store call (or an encoding) whose failure, thrown or rejected, is reported and absorbed. */
  async #safely<R>(call: () => Promise<R>): Promise<R | undefined> {
    try {
      return await call();
    } catch (err) {
      this.#report(err);
      return undefined;
    }
  }

  /** Applies the soft and hard timeouts to a fetch in progress. */
  async #within(
    key: string,
    work: Promise<unknown>,
    options: WrapOptions,
    stale: { value: unknown } | undefined,
  ): Promise<unknown> {
    const { timeout, hardTimeout } = options;
    const timers: NodeJS.Timeout[] = [];
    const after = (ms: number, settle: () => void): void =>
      void timers.push(setTimeout(settle, ms));
    const answer = new Promise<unknown>((resolve, reject) => {
      work.then(resolve, (err: unknown) => (stale ? resolve(stale.value) : reject(err))); // staleIfError
      if (timeout !== undefined && stale) after(timeout, () => resolve(stale.value));
      if (hardTimeout !== undefined) {
        after(hardTimeout, () => reject(new WrapTimeoutError(key, hardTimeout)));
      }
    });
    try {
      return await answer;
    } finally {
      for (const timer of timers) clearTimeout(timer);
      // The fetch may still be running: it stores its value when it completes.
      this.#track(work);
    }
  }

  #track(work: Promise<unknown>): void {
    const settled = work.catch(() => undefined);
    this.#pending.add(settled);
    void settled.finally(() => this.#pending.delete(settled));
  }

  /** A stored value, or `undefined` if the entry is not one `wrap` wrote with this codec. */
  #decode(
    raw: Record<string, unknown>,
    stored: string | Buffer,
    codec: Codec,
  ): { metadata: DataMetadata; value: unknown } | undefined {
    const metadata = raw as Partial<DataMetadata>;
    if (metadata.kind !== 'data' || metadata.codec !== codec.name) return undefined;
    if (
      [metadata.storedAt, metadata.ttl, metadata.swr, metadata.sie].some(
        (n) => typeof n !== 'number',
      )
    )
      return undefined;
    try {
      return { metadata: metadata as DataMetadata, value: codec.decode(stored) };
    } catch (err) {
      this.#report(err);
      return undefined;
    }
  }
}

/** A {@link DataCache} on `store`: cache-aside with single-flight, leases and shared tags. */
export function createDataCache(options: DataCacheOptions): DataCache {
  return new DataCache(options);
}
