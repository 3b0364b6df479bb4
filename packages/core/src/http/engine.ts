import type { OutgoingHttpHeaders } from 'node:http';
import { MemoryCacheStore } from '../store/memory-store.js';
import type { CacheStore, Lease } from '../store/types.js';
import { safeReporter, throttledConsoleReporter, type ErrorReporter } from '../report.js';
import { parseMetadata, responseMetadata, type VaryMetadata } from './entry.js';
import { fill, type Found, type Shared } from './fill.js';
import { Flights } from './flights.js';
import { headerValue, listTokens, parseCacheGroups } from './headers.js';
import { variantKey } from './key.js';
import {
  checkCacheOptions,
  checkInvalidateOnSpec,
  checkInvalidateSpec,
  resolveInvalidation,
  type InvalidateOnSpec,
  resolveRoute,
  type HttpCacheOptions,
  type ResolvedRoute,
  type RouteOptions,
} from './options.js';
import { bypassReason, isStorable } from './policy.js';
import { ageOf, replay } from './replay.js';
import { keyTags, requestKeys } from './request-keys.js';
import { InvalidationRetry } from './retry.js';
import type {
  CacheRequest,
  CacheStats,
  CapturedResponse,
  Decision,
  Finish,
  Hit,
  InvalidateSpec,
  Pass,
  ReplayResponse,
  WrittenHead,
} from './types.js';

/** A cached route: adapters call `lookup` for each request. */
export interface CachedRoute<C> {
  lookup(request: CacheRequest, context: C): Promise<Decision>;
}

/**
 * What `invalidateOn` runs once the write's status is final: for a 2xx it invalidates and
 * resolves when the store confirmed; otherwise it returns `undefined`. It rejects only when the
 * spec's functions fail (see {@link HttpCache.invalidation}).
 */
export type Invalidation<C> = (context: C, status: number) => Promise<void> | undefined;

/** What controllers get as `req.cache` (Express) or `ctx.cache` (Koa). */
export interface CacheHandle {
  /** Drops entries; see {@link HttpCache.invalidate}. */
  invalidate(spec: InvalidateSpec): Promise<void>;
}

/** What a read found under one key. */
interface Read {
  found: Found | undefined;
  /** A Vary marker, with the first variant it holds (its body is the marker's value). */
  marker: (VaryMetadata & { found: Found | undefined }) | undefined;
  /** On a miss, the lease the store took with the read. */
  lease: Lease | undefined;
  /** Whether something was stored under the key (found, or present but unreadable). */
  present: boolean;
}

/** What the leader of a flight does with the handler's response. */
interface Leader {
  /** Stores the response if it may be (settling the flight with it) and says how to send it. */
  store(response: CapturedResponse | undefined): Finish;
  /** Settles the flight with nothing: the handler's response will not be stored. */
  abandon(): void;
}

const FINISH: Finish = { removeHeaders: ['cache-groups'] };

/**
 * The framework-neutral HTTP cache: decides per request whether to answer from the store (hit,
 * 304, stale), to run the handler and store its response (miss), or to stay out of the way
 * (bypass). Adapters translate their framework's request and response to and from it.
 */
export class HttpCache<C> {
  readonly #store: CacheStore;
  readonly #ownsStore: boolean;
  readonly #defaults: HttpCacheOptions<C>;
  readonly #debug: boolean;
  readonly #report: ErrorReporter;
  readonly #flights = new Flights<Shared>();
  readonly #retry: InvalidationRetry;
  readonly #stats: CacheStats = {
    hits: 0,
    misses: 0,
    stale: 0,
    bypasses: 0,
    stores: 0,
    invalidations: 0,
    errors: 0,
  };
  #closed = false;
  /** Stores in progress (they never reject). */
  readonly #pending = new Set<Promise<void>>();
  /** What `req.cache` / `ctx.cache` is: the invalidation hook for controllers. */
  readonly handle: CacheHandle = { invalidate: (spec) => this.invalidate(spec) };

  constructor(options: HttpCacheOptions<C> = {}) {
    checkCacheOptions(options);
    this.#defaults = options;
    this.#ownsStore = options.store === undefined;
    this.#store = options.store ?? new MemoryCacheStore();
    this.#debug = options.debugHeaders ?? true;
    const report = safeReporter(options.onError ?? throttledConsoleReporter('HTTP cache'));
    this.#report = (err) => {
      this.#stats.errors++;
      report(err);
    };
    this.#retry = new InvalidationRetry((tags) => this.#store.invalidateTags(tags), this.#report);
  }

  /** Validates `options` (TypeErrors name the option) and returns the route's lookup. */
  route(options: RouteOptions<C> = {}): CachedRoute<C> {
    const route = resolveRoute(this.#defaults, options);
    return { lookup: (request, context) => this.#lookup(route, request, context) };
  }

  /**
   * Drops entries by custom key or URL path, tag and user. Resolves once the store confirmed it;
   * never rejects for store trouble: the failure goes to `onError`, the invalidation is retried
   * (for at most five minutes, and only when retrying can help), and requests whose entries
   * carry one of its tags bypass the cache until it lands.
   */
  async invalidate(spec: InvalidateSpec): Promise<void> {
    checkInvalidateSpec(spec);
    const tags = [
      ...(spec.tags ?? []),
      ...(spec.users ?? []).map((user) => `user:${user}`),
      ...(spec.keys ?? []).flatMap(keyTags),
    ];
    if (tags.length === 0) return;
    this.#flights.clear();
    try {
      await this.#store.invalidateTags(tags);
      this.#stats.invalidations++;
    } catch (err) {
      this.#report(err);
      this.#retry.add(tags, err);
    }
  }

  /**
   * Checks an `invalidateOn` spec (TypeErrors name the field) and returns what runs after the
   * write: for a 2xx status it invalidates and resolves when the store confirmed (store trouble
   * goes to `onError` and the retries, as with {@link HttpCache.invalidate}); otherwise it returns
   * `undefined`. It rejects only when the spec itself fails — a function that throws or returns
   * something else than a list — so the adapter fails the write's response instead of hiding a
   * programming error behind a 2xx.
   */
  invalidation(spec: InvalidateOnSpec<C>): Invalidation<C> {
    checkInvalidateOnSpec(spec);
    return (context, status) => {
      if (status < 200 || status > 299) return undefined;
      let resolved: InvalidateSpec;
      try {
        resolved = resolveInvalidation(spec, context);
        checkInvalidateSpec(resolved);
      } catch (err) {
        return Promise.reject(
          new Error('invalidateOn failed to name what to invalidate', { cause: err }),
        );
      }
      return this.invalidate(resolved);
    };
  }

  /** Sends an error to `onError` and counts it; for adapters. */
  report(err: unknown): void {
    this.#report(err);
  }

  /** Counters since creation (a copy). */
  stats(): CacheStats {
    return { ...this.#stats };
  }

  /**
   * Stops retries, waits for stores in progress and closes the store if the cache created it (a
   * store you passed stays open). Later requests bypass the cache.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#retry.close();
    await Promise.all(this.#pending);
    if (this.#ownsStore) await this.#store.close();
  }

  async #lookup(route: ResolvedRoute<C>, request: CacheRequest, context: C): Promise<Decision> {
    try {
      return await this.#decide(route, request, context);
    } catch (err) {
      this.#report(err);
      return this.#bypass();
    }
  }

  async #decide(route: ResolvedRoute<C>, request: CacheRequest, context: C): Promise<Decision> {
    if (this.#closed || bypassReason(request, route)) return this.#bypass();
    const keys = requestKeys(route, request, context);
    // A failed invalidation of one of these tags is being retried: Redis may hold stale entries.
    if ('bypass' in keys || this.#retry.affects(keys.tags)) return this.#bypass();

    let key = keys.primary;
    let read = await this.#read(key, keys.tags);
    let vary: readonly string[] | undefined;
    if (read.marker) {
      const { marker } = read;
      vary = marker.vary;
      key = variantKey(keys.primary, vary, request);
      // The marker holds the first variant it met; every other variant is an entry of its own.
      read =
        marker.variant === key && marker.found
          ? { found: marker.found, marker: undefined, lease: undefined, present: true }
          : await this.#read(key, keys.tags);
    }
    let { found } = read;
    if (found && this.#retry.affects(found.metadata.tags ?? [])) found = undefined;
    const head = request.method === 'HEAD';
    let stale: Found | undefined;
    if (found) {
      const age = (Date.now() - found.metadata.storedAt) / 1000;
      const { ttl, swr, sie } = found.metadata;
      if (age < ttl) return this.#hit(found, request, 'HIT');
      // Someone is refreshing it already, or a HEAD cannot refresh it: the stale copy will do.
      if (age < ttl + swr && (head || this.#flights.join(key)))
        return this.#hit(found, request, 'STALE');
      if (age < ttl + sie) stale = found;
    }

    const flight = this.#flights.join(key);
    if (flight) {
      const shared = await flight;
      if (
        shared &&
        (shared.vary.length === 0 ||
          variantKey(keys.primary, shared.vary, request) === shared.variant)
      ) {
        return this.#hit(shared, request, 'HIT');
      }
      return this.#miss(request, stale, undefined);
    }
    // A HEAD response has no body to store: it never creates an entry.
    if (head) return this.#miss(request, stale, undefined);

    const settle = this.#flights.lead(key);
    let lease = read.lease;
    if (!lease && read.present) {
      // The read found an entry (expired, or unreadable): it took no lease, so take one now.
      try {
        lease = await this.#store.lease(key, keys.tags);
      } catch (err) {
        this.#report(err);
      }
    }
    return this.#miss(request, stale, {
      abandon: () => settle(undefined),
      store: (response) => {
        // Decided twice: now, to prepare the response (its validator), and once written, on the
        // head as it went out: middleware may still add Set-Cookie, Cache-Control or Vary then.
        if (!response || !lease || !isStorable(response, route, keys.user)) {
          settle(undefined);
          return FINISH;
        }
        const groups = parseCacheGroups(headerValue(response.headers, 'cache-groups'));
        const tags = [...keys.tags, ...groups];
        const { ttl, staleWhileRevalidate: swr, staleIfError: sie, unstored } = route;
        const metadata = responseMetadata(response, ttl, swr, sie, Date.now(), tags, unstored);
        const written = (head: WrittenHead | undefined): void => {
          if (!head || !isStorable({ ...response, ...head }, route, keys.user)) {
            settle(undefined);
            return;
          }
          const varies = [...new Set(listTokens(headerValue(head.headers, 'vary')))].sort();
          const job = {
            body: response.body,
            metadata,
            lease,
            primary: keys.primary,
            key,
            knownVary: vary,
            vary: varies,
            variant: variantKey(keys.primary, varies, request),
            ttl: ttl + Math.max(swr, sie),
            tags,
          };
          this.#track(this.#fill(job).then(settle));
        };
        // The client that caused the store gets the validator and the Date the entry will have.
        const setHeaders: Record<string, string> = {};
        if (response.headers.etag === undefined) setHeaders.etag = metadata.etag;
        if (response.headers.date === undefined) setHeaders.date = String(metadata.headers.date);
        return { ...FINISH, setHeaders, written };
      },
    });
  }

  /** Reads an entry; anything unreadable is a miss (a broken store must not break the route). */
  async #read(key: string, tags: readonly string[]): Promise<Read> {
    const none = { found: undefined, marker: undefined, lease: undefined };
    try {
      const { entry, lease } = await this.#store.getOrLease(key, tags);
      if (!entry) return { ...none, lease, present: false };
      const metadata = parseMetadata(entry.metadata);
      if (!metadata) return { ...none, present: true };
      const { value } = entry;
      const body = Buffer.isBuffer(value) ? value : Buffer.from(value);
      if (metadata.kind === 'vary') {
        const found = metadata.response && { metadata: metadata.response, body };
        return { ...none, marker: { ...metadata, found }, present: true };
      }
      return { ...none, found: { metadata, body }, present: true };
    } catch (err) {
      this.#report(err);
      return { ...none, present: false };
    }
  }

  /** Stores a response under its lease; resolves what waiting requests may serve. */
  async #fill(job: Parameters<typeof fill>[1]): Promise<Shared | undefined> {
    // An invalidation of one of its tags failed and is retried: Redis may miss it meanwhile.
    if (this.#retry.affects(job.tags)) return undefined;
    try {
      const shared = await fill(this.#store, job);
      if (shared) this.#stats.stores++;
      return shared;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ERR_RESTASH_ENTRY_TOO_LARGE') this.#report(err);
      return undefined;
    }
  }

  /** Keeps `close()` from closing the store under a store still in progress. */
  #track(work: Promise<void>): void {
    this.#pending.add(work);
    void work.finally(() => this.#pending.delete(work));
  }

  #hit(found: Found, request: CacheRequest, xCache: 'HIT' | 'STALE'): Hit {
    if (xCache === 'HIT') this.#stats.hits++;
    else this.#stats.stale++;
    return { kind: 'hit', response: this.#replay(found, request, xCache) };
  }

  /**
   * A failed answer swapped for the stale copy. The answer is the stored response exactly: every
   * header of the failure goes (also ones set before the cache ran), the stored ones come back,
   * and the request counts as stale rather than as a miss.
   */
  #replaceWithStale(found: Found, request: CacheRequest, failed: OutgoingHttpHeaders): Finish {
    this.#stats.misses--;
    this.#stats.stale++;
    return {
      removeHeaders: [...FINISH.removeHeaders, ...Object.keys(failed)],
      replace: this.#replay(found, request, 'STALE'),
    };
  }

  #replay(found: Found, request: CacheRequest, xCache: string): ReplayResponse {
    const debug = this.#debug ? { xCache, age: ageOf(found.metadata, Date.now()) } : undefined;
    return replay(found.metadata, found.body, request, debug);
  }

  #bypass(): Pass {
    this.#stats.bypasses++;
    return {
      kind: 'pass',
      xCache: this.#debug ? 'BYPASS' : undefined,
      finish: () => FINISH,
      fail: () => undefined,
    };
  }

  /**
   * A request the handler answers. A 5xx or a failure is swapped for `stale` when there is one;
   * the `leader` of a flight also stores what the handler produced.
   */
  #miss(request: CacheRequest, stale: Found | undefined, leader: Leader | undefined): Pass {
    this.#stats.misses++;
    return {
      kind: 'pass',
      xCache: this.#debug ? 'MISS' : undefined,
      finish: (response) => {
        try {
          if (response && stale && response.status >= 500) {
            leader?.abandon();
            return this.#replaceWithStale(stale, request, response.headers);
          }
          return leader ? leader.store(response) : FINISH;
        } catch (err) {
          // Whatever went wrong, the response goes out and nobody waits for it in vain.
          this.#report(err);
          leader?.abandon();
          return FINISH;
        }
      },
      fail: (headers) => {
        leader?.abandon();
        return stale && this.#replaceWithStale(stale, request, headers);
      },
    };
  }
}
