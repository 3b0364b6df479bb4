import type { CacheStore, ReadOptions } from '../store/types.js';
import type { ErrorReporter } from '../report.js';
import type { Stampede } from '../store/stampede.js';
import type { Answers, Leader } from './answers.js';
import { isConditional, notModified } from './conditional.js';
import type { Found, Shared } from './fill.js';
import type { Flights } from './flights.js';
import { variantKey } from './key.js';
import type { ResolvedRoute } from './options.js';
import { bypassReason } from './policy.js';
import { ageOf, checked, toRead, type Read } from './read.js';
import { isRefreshCopy } from './refresh.js';
import { Refreshes } from './refreshes.js';
import { requestKeys, type RequestKeys } from './request-keys.js';
import type { InvalidationRetry } from './retry.js';
import { CHANNELS, keyHash, type LookupStatus, type Outcome } from './status.js';
import { askToValidate, ResponseStore } from './store-response.js';
import type { CacheRequest, CacheStats, Decision, Hit } from './types.js';

/** What a lookup works with; the engine owns it. */
export interface LookupParts {
  store: CacheStore;
  flights: Flights<Shared>;
  stampede: Stampede;
  retry: InvalidationRetry;
  stats: CacheStats;
  report: ErrorReporter;
  answers: Answers;
  /** Keeps `close()` from closing the store under a store still in progress. */
  track(work: Promise<void>): void;
  closed(): boolean;
}

/**
 * One request's way through the cache: hit, 304, stale, miss (with single-flight, a lease, and
 * the store once the response went out), revalidation, or bypass.
 */
export class Lookup<C> {
  readonly #parts: LookupParts;
  readonly #responses: ResponseStore<C>;
  readonly #refreshes = new Refreshes();

  constructor(parts: LookupParts) {
    this.#parts = parts;
    this.#responses = new ResponseStore(parts);
  }

  /**
   * A fresh hit the store can answer from process memory, decided without a single promise; or
   * `undefined`: then {@link Lookup.decide} takes the request, whatever it turns out to be.
   */
  fast(
    route: ResolvedRoute<C>,
    request: CacheRequest,
    context: C,
    status: LookupStatus,
  ): Hit | undefined {
    const { store, retry, answers } = this.#parts;
    if (!store.peek || this.#parts.closed() || bypassReason(request, route)) return undefined;
    const keys = requestKeys(route, request, context);
    if ('bypass' in keys) return undefined;
    let read = toRead(store.peek(keys.primary), undefined);
    if (read.marker) {
      const key = variantKey(keys.primary, read.marker.vary, request);
      const first = read.marker.variant === key ? read.marker.found : undefined;
      read = first ? { ...read, found: first } : toRead(store.peek(key), undefined);
    }
    const { found } = read;
    if (!found || ageOf(found) >= found.metadata.ttl) return undefined;
    if (retry.pending && (retry.affects(keys.tags) || retry.affects(found.metadata.tags ?? [])))
      return undefined;
    this.#parts.stats.localHits++;
    return answers.hit(found, request, decided(status, 'hit', keys.primary));
  }

  async decide(
    route: ResolvedRoute<C>,
    request: CacheRequest,
    context: C,
    status: LookupStatus,
  ): Promise<Decision> {
    const { answers, flights, retry } = this.#parts;
    const bypass = this.#parts.closed() ? 'closed' : bypassReason(request, route);
    if (bypass) return answers.bypass(decided(status, 'bypass', undefined, bypass));
    const keys = requestKeys(route, request, context);
    if ('bypass' in keys) return answers.bypass(decided(status, 'bypass', undefined, keys.bypass));
    // A failed invalidation of one of these tags is being retried: Redis may hold stale entries.
    if (retry.affects(keys.tags)) {
      return answers.bypass(decided(status, 'bypass', keys.primary, 'invalidation-pending'));
    }

    let key = keys.primary;
    const valueNeeded = this.#valueNeeded(request);
    // Only a GET waits for another instance's response: a HEAD never stores one.
    const wait = request.method === 'GET' && route.stampede;
    let read = await this.#read(key, keys.tags, wait, valueNeeded);
    let waited = read.waited;
    let vary: readonly string[] | undefined;
    if (read.marker) {
      const { marker } = read;
      vary = marker.vary;
      key = variantKey(keys.primary, vary, request);
      // The marker holds the first variant it met, while fresh; every other variant, and a
      // refreshed first one, is an entry of its own.
      const first = marker.variant === key ? marker.found : undefined;
      read =
        first && ageOf(first) < first.metadata.ttl
          ? { found: first, marker: undefined, lease: undefined, present: true }
          : await this.#read(key, keys.tags, wait, valueNeeded);
      waited ||= read.waited;
      // An expired first variant still serves as stale copy and to revalidate with.
      if (!read.found && first) read = { ...read, found: first };
      if (!read.found) status.fwd = 'vary-miss';
    }
    // The read left the value where it was: the metadata answers this request (a 304).
    if (read.withoutValue && read.found) {
      return answers.hit(read.found, request, decided(status, 'hit', key));
    }
    let { found } = read;
    if (found && retry.affects(found.metadata.tags ?? [])) found = undefined;
    const head = request.method === 'HEAD';
    // A background copy of a request (refresh.ts) refreshes: it never answers stale.
    const copy = isRefreshCopy(request.node);
    let stale: Found | undefined;
    let expired: Found | undefined;
    if (found) {
      const age = ageOf(found);
      const { ttl, swr, sie } = found.metadata;
      if (age < ttl) {
        // Another instance stored it while this request waited: RFC 9211 2.7, collapsed.
        if (waited) status.fwd ??= 'uri-miss';
        return answers.hit(found, request, decided(status, waited ? 'collapsed' : 'hit', key));
      }
      // Someone is refreshing it already, or a HEAD cannot refresh it: the stale copy will do.
      if (age < ttl + swr && (head || flights.join(key)))
        return answers.hit(found, request, decided(status, 'stale', key));
      // Answered at once, refreshed by a copy of the request in the background (refresh.ts);
      // the copy itself goes on to run the handler.
      if (age < ttl + swr && !copy && this.#refreshes.start(request, key)) {
        status.fwd = 'stale';
        return answers.hit(found, request, decided(status, 'stale', key));
      }
      if (age < ttl + sie) stale = found;
      if (route.freshness === 'headers') expired = found;
      status.fwd = 'stale';
    }

    const missing = { route, request, keys, key, vary, read, found, stale, expired, copy, status };
    return this.#miss(missing);
  }

  /**
   * Nothing fresh to answer with: wait for the request of this process that runs the handler
   * already, or for a background refresh when `timeout` allows a stale answer, or run it.
   */
  async #miss(missing: Missing<C>): Promise<Decision> {
    const { route, request, keys, key, vary, read, found, stale, expired, copy, status } = missing;
    const { answers, flights } = this.#parts;
    const head = request.method === 'HEAD';
    let flight = flights.join(key);
    // A slow handler may cost this request `timeout` ms at most: a copy of it runs the handler.
    const bound =
      stale && route.timeout !== undefined && !head && !copy
        ? { stale, timeout: route.timeout }
        : undefined;
    if (bound && !flight) flight = this.#refreshes.start(request, key)?.result;
    if (flight) {
      // A fill lock this read took is the running request's business: other instances go on.
      this.#parts.track(this.#parts.stampede.release(read.lease));
      let shared: Shared | undefined;
      if (bound) {
        const waited = await within(flight, bound.timeout);
        if (waited === TIMED_OUT) {
          return answers.hit(bound.stale, request, decided(status, 'stale', key, 'timeout'));
        }
        shared = waited;
      } else shared = await flight;
      // Nothing came of the refresh (or another instance's is running): the stale copy will do.
      if (!shared && bound) {
        return answers.hit(bound.stale, request, decided(status, 'stale', key, 'stale-if-error'));
      }
      if (
        shared &&
        (shared.vary.length === 0 ||
          variantKey(keys.primary, shared.vary, request) === shared.variant)
      ) {
        // RFC 9211 2.7: it went forward, collapsed into another request's.
        status.fwd ??= 'uri-miss';
        return answers.hit(shared, request, decided(status, 'collapsed', key));
      }
      return answers.miss(request, stale, undefined, decided(status, 'miss', key, 'collapsed'));
    }
    // A HEAD response has no body to store: it never creates an entry.
    if (head) return answers.miss(request, stale, undefined, decided(status, 'miss', key, 'head'));

    const lead = flights.lead(key);
    if (copy) this.#refreshes.led(key, flights.join(key) ?? Promise.resolve(undefined));
    let lease = read.lease;
    if (!lease && read.present) {
      // The read found an entry (expired, or unreadable): it took no lease, so take one now. A
      // background refresh also takes the fill lock: one instance refreshes a key at a time.
      const lock = copy && route.stampede !== false ? { lock: route.stampede } : undefined;
      try {
        lease = await this.#parts.store.lease(key, keys.tags, lock);
      } catch (err) {
        this.#parts.report(err);
      }
    }
    // Settling also releases the fill lock the lease holds (a store released it already).
    const settle = this.#parts.stampede.settling(lead, lease, this.#parts.track);
    if (copy && found && lease?.fillLock?.state === 'busy') {
      // Another instance refreshes it: this copy has nothing to do (its answer is never sent).
      this.#refreshes.elsewhere(key, lease.fillLock.expiresIn);
      settle(undefined);
      return answers.hit(found, request, decided(status, 'stale', key, 'refreshing'));
    }
    // RFC 9111 4.3.1: an expired entry is validated with the origin's validators, so that a 304
    // can refresh it instead of the whole response being sent again.
    const asked = expired ? askToValidate(request.headers, expired.metadata) : [];
    const leading = { route, request, keys, key, vary, lease, settle, status };
    const leader: Leader = {
      abandon: () => settle(undefined),
      store: (response) => {
        if (expired && asked.length > 0 && response?.status === 304) {
          // The client is answered on its own validators, not on those the cache added.
          const headers = { ...request.headers };
          for (const name of asked) Reflect.deleteProperty(headers, name);
          return this.#responses.revalidated(
            { ...leading, request: { ...request, headers } },
            expired,
            response,
          );
        }
        return this.#responses.stored(leading, response);
      },
    };
    return answers.miss(request, stale, leader, decided(status, 'miss', key));
  }

  /**
   * For a conditional GET or HEAD, whether a hit needs its value: not when its metadata answers
   * the request — a fresh response the request's validators match is a 304, without the body.
   */
  #valueNeeded(request: CacheRequest): ReadOptions['valueNeeded'] {
    if (!isConditional(request)) return undefined;
    const { retry } = this.#parts;
    return (raw) => {
      const metadata = checked(raw);
      const answers =
        metadata?.kind === 'response' &&
        (Date.now() - metadata.storedAt) / 1000 < metadata.ttl &&
        !retry.affects(metadata.tags ?? []) &&
        notModified(request, metadata);
      return !answers;
    };
  }

  /**
   * Reads an entry, waiting (up to `wait` ms) for another instance that is filling it; anything
   * unreadable is a miss (a broken store must not break the route).
   */
  async #read(
    key: string,
    tags: readonly string[],
    wait: number | false,
    valueNeeded: ReadOptions['valueNeeded'],
  ): Promise<Read> {
    try {
      const led = (): boolean => this.#parts.flights.join(key) !== undefined;
      const { stampede } = this.#parts;
      const { entry, lease, waited } = await stampede.read(key, tags, wait, led, valueNeeded);
      const read = toRead(entry, lease);
      return waited ? { ...read, waited } : read;
    } catch (err) {
      this.#parts.report(err);
      return { found: undefined, marker: undefined, lease: undefined, present: false };
    }
  }
}

/** What {@link Lookup.decide} found out before a miss. */
interface Missing<C> {
  route: ResolvedRoute<C>;
  request: CacheRequest;
  keys: RequestKeys;
  key: string;
  vary: readonly string[] | undefined;
  read: Read;
  /** The expired entry the read found, if any. */
  found: Found | undefined;
  /** A stale copy that may answer instead (`staleIfError`, `timeout`). */
  stale: Found | undefined;
  /** An expired entry to revalidate (`freshness: 'headers'`). */
  expired: Found | undefined;
  /** The request is a background copy that refreshes. */
  copy: boolean;
  status: LookupStatus;
}

const TIMED_OUT = Symbol('timed out');

/** `promise`'s result, or {@link TIMED_OUT} after `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Records the decision in `status` (the hash of the key only when someone listens). */
function decided(
  status: LookupStatus,
  outcome: Outcome,
  key: string | undefined,
  reason?: string,
): LookupStatus {
  status.outcome = outcome;
  status.reason = reason;
  if (key !== undefined && CHANNELS.lookup.hasSubscribers) status.key = keyHash(key);
  status.duration = performance.now() - status.duration;
  return status;
}
