import type { OutgoingHttpHeaders } from 'node:http';
import { MemoryCacheStore } from '../store/memory-store.js';
import type { CacheStore, Lease } from '../store/types.js';
import { safeReporter, throttledConsoleReporter, type ErrorReporter } from '../report.js';
import { checkStringArray, describe } from '../validate.js';
import {
  ageOf,
  parseMetadata,
  replay,
  responseMetadata,
  type ResponseMetadata,
  type VaryMetadata,
} from './entry.js';
import { Flights } from './flights.js';
import { headerValue, listTokens, parseCacheGroups } from './headers.js';
import { defaultKey, pathOf, primaryKey, variantKey } from './key.js';
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
} from './types.js';

/** A cached route: adapters call `lookup` for each request. */
export interface CachedRoute<C> {
  lookup(request: CacheRequest, context: C): Promise<Decision>;
}

/**
 * What `invalidateOn` runs once the write's status is final: for a 2xx it invalidates and
 * resolves when the store confirmed (never rejecting); otherwise it returns `undefined`.
 */
export type Invalidation<C> = (context: C, status: number) => Promise<void> | undefined;

/** What controllers get as `req.cache` (Express) or `ctx.cache` (Koa). */
export interface CacheHandle {
  /** Drops entries; see {@link HttpCache.invalidate}. */
  invalidate(spec: InvalidateSpec): Promise<void>;
}

/** A stored response as read back. */
interface Found {
  metadata: ResponseMetadata;
  body: Buffer;
}

/** What a leader shares with the requests that waited for it. */
interface Shared extends Found {
  /** Request headers the response varies on, and the variant key of the leader's request. */
  vary: readonly string[];
  variant: string;
}

/** The keys of one request on one route. */
interface Keys {
  primary: string;
  /** `key:` tag that `invalidate({ keys })` matches: the custom key or the URL path. */
  logical: string;
  user: string | undefined;
}

/** What the leader of a flight does with the handler's response. */
interface Leader {
  /** Stores the response if it may be (settling the flight with it) and says how to send it. */
  store(response: CapturedResponse | undefined): Finish;
  /** Settles the flight with nothing: the handler's response will not be stored. */
  abandon(): void;
}

/** Everything a miss's leader needs to store its response. */
interface Fill<C> {
  route: ResolvedRoute<C>;
  context: C;
  response: CapturedResponse;
  metadata: ResponseMetadata;
  lease: Lease;
  keys: Keys;
  /** The key to store under (the variant key once the response is known to vary). */
  key: string;
  /** What the stored Vary marker says the response varies on, if there is one. */
  knownVary: readonly string[] | undefined;
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
   * never rejects for store trouble: the failure goes to `onError`, the invalidation is retried,
   * and the cache is bypassed until it lands.
   */
  async invalidate(spec: InvalidateSpec): Promise<void> {
    checkInvalidateSpec(spec);
    const tags = [
      ...(spec.tags ?? []),
      ...(spec.users ?? []).map((user) => `user:${user}`),
      ...(spec.keys ?? []).map((key) => `key:${key}`),
    ];
    if (tags.length === 0) return;
    this.#flights.clear();
    try {
      await this.#store.invalidateTags(tags);
      this.#stats.invalidations++;
    } catch (err) {
      this.#report(err);
      this.#retry.add(tags);
    }
  }

  /**
   * Checks an `invalidateOn` spec (TypeErrors name the field) and returns what runs after the
   * write: it invalidates only for a 2xx status (else returns `undefined`) and never rejects.
   */
  invalidation(spec: InvalidateOnSpec<C>): Invalidation<C> {
    checkInvalidateOnSpec(spec);
    return (context, status) => {
      if (status < 200 || status > 299) return undefined;
      return Promise.resolve()
        .then(() => this.invalidate(resolveInvalidation(spec, context)))
        .catch(this.#report);
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
    if (this.#closed || this.#retry.pending || bypassReason(request, route)) return this.#bypass();
    const keys = this.#keysFor(route, request, context);
    if (!keys) return this.#bypass();

    let key = keys.primary;
    let found = await this.#read(key);
    let vary: readonly string[] | undefined;
    if (found && 'vary' in found) {
      vary = found.vary;
      key = variantKey(keys.primary, vary, request);
      const variant = await this.#read(key);
      found = variant && 'body' in variant ? variant : undefined;
    }
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
    let lease: Lease | undefined;
    try {
      lease = await this.#store.lease(key);
    } catch (err) {
      this.#report(err);
    }
    return this.#miss(request, stale, {
      abandon: () => settle(undefined),
      store: (response) => {
        if (!response || !lease || !isStorable(response, route, keys.user)) {
          settle(undefined);
          return FINISH;
        }
        const { ttl, staleWhileRevalidate: swr, staleIfError: sie } = route;
        const metadata = responseMetadata(response, ttl, swr, sie, Date.now());
        const job = { route, context, response, metadata, lease, keys, key, knownVary: vary };
        this.#track(this.#fill(job).then(settle));
        // The client that caused the store gets the validator the entry will answer to.
        return response.headers.etag === undefined
          ? { ...FINISH, setHeaders: { etag: metadata.etag } }
          : FINISH;
      },
    });
  }

  /** The request's keys, or `undefined` when an authorized request has no user to key it by. */
  #keysFor(route: ResolvedRoute<C>, request: CacheRequest, context: C): Keys | undefined {
    const user = toUser(route.perUser?.(context));
    if (user === undefined && request.headers.authorization !== undefined && !route.shared)
      return undefined;
    if (route.key) {
      const custom = route.key(context);
      if (typeof custom !== 'string')
        throw new TypeError(`route key() must return a string, got ${describe(custom)}`);
      return { primary: primaryKey(custom, user), logical: `key:${custom}`, user };
    }
    return {
      primary: primaryKey(defaultKey(request), user),
      logical: `key:${pathOf(request.url)}`,
      user,
    };
  }

  /** Reads an entry; anything unreadable is a miss (a broken store must not break the route). */
  async #read(key: string): Promise<Found | VaryMetadata | undefined> {
    try {
      const entry = await this.#store.get(key);
      if (!entry) return undefined;
      const metadata = parseMetadata(entry.metadata);
      if (!metadata) return undefined;
      if (metadata.kind === 'vary') return metadata;
      const { value } = entry;
      return { metadata, body: Buffer.isBuffer(value) ? value : Buffer.from(value) };
    } catch (err) {
      this.#report(err);
      return undefined;
    }
  }

  /** Stores a response under its lease; resolves what waiting requests may serve. */
  async #fill(job: Fill<C>): Promise<Shared | undefined> {
    const { route, response, metadata, lease, keys, knownVary } = job;
    try {
      const vary = [...new Set(listTokens(headerValue(response.headers, 'vary')))].sort();
      const tags = this.#tagsFor(route, job.context, response, keys);
      const ttl = route.ttl + Math.max(route.staleWhileRevalidate, route.staleIfError);
      if (knownVary === undefined && vary.length > 0) {
        // First sight of a varying response: remember what it varies on. The next miss stores
        // its variant under a lease of its own key.
        const marker: VaryMetadata = { kind: 'vary', vary };
        await this.#store.setLeased(lease, Buffer.alloc(0), marker, ttl, tags);
        return undefined;
      }
      if (knownVary !== undefined && knownVary.join() !== vary.join()) {
        await this.#store.delete(keys.primary); // the route changed what it varies on
        return undefined;
      }
      if (!(await this.#store.setLeased(lease, response.body, metadata, ttl, tags)))
        return undefined;
      this.#stats.stores++;
      return { metadata, body: response.body, vary, variant: job.key };
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

  #tagsFor(route: ResolvedRoute<C>, context: C, response: CapturedResponse, keys: Keys): string[] {
    const routeTags = typeof route.tags === 'function' ? route.tags(context) : (route.tags ?? []);
    checkStringArray('route tags() result', routeTags);
    const groups = parseCacheGroups(headerValue(response.headers, 'cache-groups'));
    const user = keys.user === undefined ? [] : [`user:${keys.user}`];
    return [...routeTags, ...groups, ...user, keys.logical];
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
        if (response && stale && response.status >= 500) {
          leader?.abandon();
          return this.#replaceWithStale(stale, request, response.headers);
        }
        return leader ? leader.store(response) : FINISH;
      },
      fail: (headers) => {
        leader?.abandon();
        return stale && this.#replaceWithStale(stale, request, headers);
      },
    };
  }
}

function toUser(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  throw new TypeError(
    `perUser() must return a string, a number or undefined, got ${describe(value)}`,
  );
}
