import { DataCache } from '../data/data-cache.js';
import type { Duration } from '../duration.js';
import { MemoryCacheStore } from '../store/memory-store.js';
import { Stampede } from '../store/stampede.js';
import type { CacheStore } from '../store/types.js';
import { safeReporter, throttledConsoleReporter, type ErrorReporter } from '../report.js';
import { Answers, startStatus } from './answers.js';
import type { Shared } from './fill.js';
import { startDebugLog } from './debug-log.js';
import { Flights } from './flights.js';
import { Lookup } from './lookup.js';
import {
  checkInvalidateOnSpec,
  checkInvalidateSpec,
  resolveInvalidation,
  type InvalidateOnSpec,
} from './invalidate-spec.js';
import {
  checkCacheOptions,
  resolveRoute,
  type HttpCacheOptions,
  type ResolvedRoute,
  type RouteOptions,
} from './options.js';
import { keyTags } from './request-keys.js';
import { InvalidationRetry } from './retry.js';
import { CHANNELS, type LookupStatus } from './status.js';
import type { CacheRequest, CacheStats, Decision, InvalidateSpec } from './types.js';

/** A cached route: adapters call `lookup` for each request. */
export interface CachedRoute<C> {
  /** A warm hit is decided at once; everything else asynchronously. */
  lookup(request: CacheRequest, context: C): Decision | Promise<Decision>;
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
  /** Cache-aside on the cache's store; see {@link DataCache.wrap}. */
  wrap: DataCache['wrap'];
}

/**
 * The framework-neutral HTTP cache: decides per request whether to answer from the store (hit,
 * 304, stale), to run the handler and store its response (miss), or to stay out of the way
 * (bypass). Adapters translate their framework's request and response to and from it.
 */
export class HttpCache<C> {
  readonly #store: CacheStore;
  readonly #ownsStore: boolean;
  readonly #defaults: HttpCacheOptions<C>;
  readonly #answers: Answers;
  readonly #decisions: Lookup<C>;
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
    localHits: 0,
    refused: 0,
    routes: {},
  };
  #closed = false;
  /** Stores in progress (they never reject). */
  readonly #pending = new Set<Promise<void>>();
  /** What `req.cache` / `ctx.cache` is: the invalidation hook for controllers. */
  readonly handle: CacheHandle = {
    invalidate: (spec) => this.invalidate(spec),
    wrap: (key, fetch, options) => this.#data.wrap(key, fetch, options),
  };
  /** `wrap`'s values share the store, tags and invalidations with the responses. */
  readonly #data: DataCache;

  constructor(options: HttpCacheOptions<C> = {}) {
    checkCacheOptions(options);
    startDebugLog();
    this.#defaults = options;
    this.#ownsStore = options.store === undefined;
    this.#store = options.store ?? new MemoryCacheStore();
    const report = safeReporter(options.onError ?? throttledConsoleReporter('HTTP cache'));
    this.#report = (err) => {
      this.#stats.errors++;
      if (CHANNELS.error.hasSubscribers) CHANNELS.error.publish({ error: err });
      report(err);
    };
    this.#data = new DataCache({
      store: this.#store,
      ttl: options.ttl,
      onError: this.#report,
      stampede: options.stampede,
    });
    this.#retry = new InvalidationRetry((tags) => this.#store.invalidateTags(tags), this.#report);
    const debug = options.debugHeaders ?? true;
    const cacheStatus = options.cacheStatus ?? true;
    this.#answers = new Answers({ stats: this.#stats, report: this.#report, debug, cacheStatus });
    this.#decisions = new Lookup<C>({
      store: this.#store,
      flights: this.#flights,
      stampede: new Stampede(this.#store, this.#report),
      retry: this.#retry,
      stats: this.#stats,
      report: this.#report,
      answers: this.#answers,
      track: (work) => {
        this.#pending.add(work);
        void work.finally(() => this.#pending.delete(work));
      },
      closed: () => this.#closed,
    });
  }

  /**
   * Validates `options` (TypeErrors name the option) and returns the route's lookup. A duration
   * alone is the route's `ttl`.
   */
  route(options: RouteOptions<C> | Duration = {}): CachedRoute<C> {
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
    this.#data.forget();
    const started = performance.now();
    let removed: number | undefined;
    let error: unknown;
    try {
      removed = await this.#store.invalidateTags(tags);
      this.#stats.invalidations++;
    } catch (err) {
      error = err;
      this.#report(err);
      this.#retry.add(tags, err);
    }
    if (CHANNELS.invalidate.hasSubscribers) {
      const duration = performance.now() - started;
      CHANNELS.invalidate.publish({ tags, removed, duration, error });
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
    const routes = Object.fromEntries(
      Object.entries(this.#stats.routes).map(([name, counts]) => [name, { ...counts }]),
    );
    return { ...this.#stats, routes };
  }

  /**
   * Stops retries, waits for stores in progress and closes the store if the cache created it (a
   * store you passed stays open). Later requests bypass the cache.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#retry.close();
    await Promise.all([...this.#pending, this.#data.close()]);
    if (this.#ownsStore) await this.#store.close();
  }

  #lookup(
    route: ResolvedRoute<C>,
    request: CacheRequest,
    context: C,
  ): Decision | Promise<Decision> {
    const status = startStatus(route.name ?? request.route?.pattern ?? '*');
    try {
      const hit = this.#decisions.fast(route, request, context, status);
      if (hit) return hit;
    } catch (err) {
      return this.#failed(err, status);
    }
    return this.#decide(route, request, context, status);
  }

  async #decide(
    route: ResolvedRoute<C>,
    request: CacheRequest,
    context: C,
    status: LookupStatus,
  ): Promise<Decision> {
    try {
      return await this.#decisions.decide(route, request, context, status);
    } catch (err) {
      return this.#failed(err, status);
    }
  }

  /** A lookup that threw (a route function, a store): the handler answers. */
  #failed(err: unknown, status: LookupStatus): Decision {
    this.#report(err);
    status.reason = 'error';
    status.duration = 0;
    return this.#answers.bypass(status);
  }
}
