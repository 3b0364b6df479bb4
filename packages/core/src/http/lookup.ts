import type { OutgoingHttpHeaders } from 'node:http';
import {
  EntryTooLargeError,
  type CacheEntry,
  type CacheStore,
  type Lease,
} from '../store/types.js';
import type { ErrorReporter } from '../report.js';
import type { Stampede } from '../store/stampede.js';
import { FINISH, type Answers, type Leader } from './answers.js';
import {
  parseMetadata,
  type EntryMetadata,
  responseMetadata,
  type ResponseMetadata,
  type VaryMetadata,
} from './entry.js';
import { fill, type Fill, type Found, type Shared } from './fill.js';
import type { Flights } from './flights.js';
import { timingOf } from './freshness.js';
import { headerValue, listTokens, parseCacheGroups } from './headers.js';
import { variantKey } from './key.js';
import type { ResolvedRoute } from './options.js';
import { bypassReason, unstorable } from './policy.js';
import { requestKeys, type RequestKeys } from './request-keys.js';
import type { InvalidationRetry } from './retry.js';
import { CHANNELS, keyHash, type LookupStatus, type Outcome } from './status.js';
import type { CacheRequest, CacheStats, CapturedResponse, Decision, Finish, Hit } from './types.js';

/** What a read found under one key. */
interface Read {
  found: Found | undefined;
  /** A Vary marker, with the first variant it holds (its body is the marker's value). */
  marker: (VaryMetadata & { found: Found | undefined }) | undefined;
  /** On a miss, the lease the store took with the read. */
  lease: Lease | undefined;
  /** Whether something was stored under the key (found, or present but unreadable). */
  present: boolean;
  /** It waited for another instance to fill the key (stampede.ts). */
  waited?: boolean;
}

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
 * Header fields a 304 does not update in a stored response (RFC 9111 3.2): those the stored body
 * depends on, and its validator.
 */
const KEPT_ON_REVALIDATION = [
  'content-encoding',
  'content-length',
  'content-md5',
  'content-range',
  'etag',
];

/**
 * One request's way through the cache: hit, 304, stale, miss (with single-flight, a lease, and
 * the store once the response went out), revalidation, or bypass.
 */
export class Lookup<C> {
  readonly #parts: LookupParts;

  constructor(parts: LookupParts) {
    this.#parts = parts;
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
    // Only a GET waits for another instance's response: a HEAD never stores one.
    const wait = request.method === 'GET' && route.stampede;
    let read = await this.#read(key, keys.tags, wait);
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
          : await this.#read(key, keys.tags, wait);
      waited ||= read.waited;
      // An expired first variant still serves as stale copy and to revalidate with.
      if (!read.found && first) read = { ...read, found: first };
      if (!read.found) status.fwd = 'vary-miss';
    }
    let { found } = read;
    if (found && retry.affects(found.metadata.tags ?? [])) found = undefined;
    const head = request.method === 'HEAD';
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
      if (age < ttl + sie) stale = found;
      if (route.freshness === 'headers') expired = found;
      status.fwd = 'stale';
    }

    const flight = flights.join(key);
    if (flight) {
      // A fill lock this read took is the running request's business: other instances go on.
      this.#parts.track(this.#parts.stampede.release(read.lease));
      const shared = await flight;
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

    // Settling also releases the fill lock the read took (a store released it already).
    const settle = this.#parts.stampede.settling(flights.lead(key), read.lease, this.#parts.track);
    let lease = read.lease;
    if (!lease && read.present) {
      // The read found an entry (expired, or unreadable): it took no lease, so take one now.
      try {
        lease = await this.#parts.store.lease(key, keys.tags);
      } catch (err) {
        this.#parts.report(err);
      }
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
          return this.#revalidated(
            { ...leading, request: { ...request, headers } },
            expired,
            response,
          );
        }
        return this.#stored(leading, response);
      },
    };
    return answers.miss(request, stale, leader, decided(status, 'miss', key));
  }

  /**
   * A response of the handler, about to be written. Whether it is stored is decided twice: now,
   * to prepare the response (its validator and Date), and once written, on the head as it went
   * out: middleware may still add Set-Cookie, Cache-Control or Vary then.
   */
  #stored(leading: Leading<C>, response: CapturedResponse | undefined): Finish {
    const { route, request, keys, lease, settle, status } = leading;
    const authorized = request.headers.authorization !== undefined;
    status.reason = !response
      ? 'streamed'
      : (unstorable(response, route, keys.user, authorized) ?? (lease ? undefined : 'no-lease'));
    const now = Date.now();
    const timing = response && !status.reason ? timingOf(route, response, now) : undefined;
    if (!response || !lease || !timing) {
      status.reason ??= 'no-freshness';
      settle(undefined);
      return FINISH;
    }
    status.stored = true;
    const { ttl, swr, sie } = timing;
    const groups = parseCacheGroups(headerValue(response.headers, 'cache-groups'));
    const tags = [...keys.tags, ...groups];
    const metadata = responseMetadata(response, ttl, swr, sie, now, tags, route.unstored);
    if (route.freshness === 'headers') metadata.revalidate = true;
    const written = (head: { status: number; headers: OutgoingHttpHeaders } | undefined): void => {
      const late = head
        ? unstorable({ ...response, ...head }, route, keys.user, authorized)
        : 'streamed';
      if (late) {
        // Middleware added a header while the response was written (a session cookie, say).
        status.stored = false;
        status.reason = late;
        settle(undefined);
        return;
      }
      const varies = [...new Set(listTokens(headerValue(head?.headers ?? {}, 'vary')))].sort();
      this.#fill(leading, lease, metadata, response.body, varies);
    };
    // The client that caused the store gets the validator and the Date the entry will have.
    const setHeaders: Record<string, string> = {};
    if (response.headers.etag === undefined) setHeaders.etag = metadata.etag;
    if (response.headers.date === undefined) setHeaders.date = String(metadata.headers.date);
    return { ...FINISH, setHeaders, written };
  }

  /**
   * The handler answered 304 to the validators of an expired entry: the entry is refreshed with
   * the 304's header fields (RFC 9111 3.2, 4.3.4) and stored again, and the client gets it — in
   * full, or as its own 304 if its own validators say so.
   */
  #revalidated(leading: Leading<C>, expired: Found, response: CapturedResponse): Finish {
    const { route, request, keys, settle } = leading;
    const headers: OutgoingHttpHeaders = { ...expired.metadata.headers };
    for (const [name, value] of Object.entries(response.headers)) {
      if (!KEPT_ON_REVALIDATION.includes(name)) headers[name] = value;
    }
    // The 304 is as new as its Date, which Node adds as it writes when the handler did not.
    if (response.headers.date === undefined) delete headers.date;
    const refreshed = { ...response, status: expired.metadata.status, headers, body: expired.body };
    const now = Date.now();
    const timing = timingOf(route, refreshed, now);
    const tags = expired.metadata.tags ?? keys.tags;
    const metadata = timing
      ? responseMetadata(refreshed, timing.ttl, timing.swr, timing.sie, now, tags, route.unstored)
      : expired.metadata;
    metadata.revalidate = true;
    if (!timing || unstorable(refreshed, route, keys.user)) settle(undefined);
    leading.status.outcome = 'revalidated';
    leading.status.stored = timing !== undefined;
    const { lease } = leading;
    const written =
      timing && lease
        ? (head: unknown) =>
            head
              ? this.#fill(leading, lease, metadata, expired.body, leading.vary ?? [])
              : settle(undefined)
        : undefined;
    if (!lease) settle(undefined);
    const replace = this.#parts.answers.replay(
      { metadata, body: expired.body },
      request,
      leading.status,
    );
    return { removeHeaders: FINISH.removeHeaders, replace, written };
  }

  /** Stores a response under its lease, settling the flight with what waiting requests may serve. */
  #fill(
    leading: Leading<C>,
    lease: Lease,
    metadata: ResponseMetadata,
    body: Buffer,
    vary: readonly string[],
  ): void {
    const { keys, key, settle, request } = leading;
    const job: Fill = {
      body,
      metadata,
      lease,
      primary: keys.primary,
      key,
      knownVary: leading.vary,
      vary,
      variant: variantKey(keys.primary, vary, request),
      ttl: Math.ceil(metadata.ttl + Math.max(metadata.swr, metadata.sie, keepToValidate(metadata))),
      tags: metadata.tags ?? keys.tags,
    };
    const { stats, store, retry, report } = this.#parts;
    const { status } = leading;
    const work = async (): Promise<Shared | undefined> => {
      const started = performance.now();
      let outcome: Shared | 'refused' | undefined;
      let failed: 'too-large' | 'store-error' | 'invalidation-pending' | undefined;
      // An invalidation of one of its tags failed and is retried: Redis may miss it meanwhile.
      if (retry.affects(job.tags)) failed = 'invalidation-pending';
      else {
        try {
          outcome = await fill(store, job);
        } catch (err) {
          failed = err instanceof EntryTooLargeError ? 'too-large' : 'store-error';
          if (failed === 'store-error') report(err);
        }
      }
      const shared = outcome === 'refused' ? undefined : outcome;
      const stored = shared !== undefined;
      if (stored) {
        stats.stores++;
        const route = stats.routes[status.route];
        if (route) route.stores++;
      } else if (outcome === 'refused') stats.refused++;
      if (CHANNELS.store.hasSubscribers) {
        const reason = stored ? undefined : (failed ?? outcome ?? 'not-stored');
        const duration = performance.now() - started;
        CHANNELS.store.publish({ route: status.route, key: status.key, stored, reason, duration });
      }
      return shared;
    };
    this.#parts.track(work().then(settle));
  }

  /**
   * Reads an entry, waiting (up to `wait` ms) for another instance that is filling it; anything
   * unreadable is a miss (a broken store must not break the route).
   */
  async #read(key: string, tags: readonly string[], wait: number | false): Promise<Read> {
    try {
      const led = (): boolean => this.#parts.flights.join(key) !== undefined;
      const { entry, lease, waited } = await this.#parts.stampede.read(key, tags, wait, led);
      return { ...toRead(entry, lease), waited };
    } catch (err) {
      this.#parts.report(err);
      return { found: undefined, marker: undefined, lease: undefined, present: false };
    }
  }
}

/** What an entry read back means; anything unreadable is a miss. */
function toRead(entry: CacheEntry | undefined, lease: Lease | undefined): Read {
  if (!entry) return { found: undefined, marker: undefined, lease, present: false };
  const metadata = checked(entry.metadata);
  if (!metadata) return { found: undefined, marker: undefined, lease: undefined, present: true };
  const { value } = entry;
  const body = Buffer.isBuffer(value) ? value : Buffer.from(value);
  if (metadata.kind === 'vary') {
    const found = metadata.response && { metadata: metadata.response, body };
    return { found: undefined, marker: { ...metadata, found }, lease: undefined, present: true };
  }
  return { found: { metadata, body }, marker: undefined, lease: undefined, present: true };
}

/** Metadata objects already checked: a local copy is read back as the same object each hit. */
const CHECKED = new WeakSet<object>();

function checked(raw: Record<string, unknown>): EntryMetadata | undefined {
  if (CHECKED.has(raw)) return raw as EntryMetadata;
  const metadata = parseMetadata(raw);
  if (metadata) CHECKED.add(raw);
  return metadata;
}

/** A miss's leader: what it read and leased, and how to settle the requests waiting for it. */
interface Leading<C> {
  route: ResolvedRoute<C>;
  request: CacheRequest;
  keys: RequestKeys;
  key: string;
  vary: readonly string[] | undefined;
  lease: Lease | undefined;
  settle(result: Shared | undefined): void;
  status: LookupStatus;
}

/**
 * Seconds an expired response of a `headers` route stays stored for revalidation: as long as it
 * was fresh, between a minute and a day, when it has a validator of the origin's.
 */
function keepToValidate(metadata: ResponseMetadata): number {
  const validator = !metadata.generatedEtag || metadata.headers['last-modified'] !== undefined;
  return metadata.revalidate && validator ? Math.min(Math.max(metadata.ttl, 60), 86_400) : 0;
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

/** Seconds since a stored response was stored (its freshness counts from there). */
function ageOf(found: Found): number {
  return (Date.now() - found.metadata.storedAt) / 1000;
}

/**
 * Adds the stored response's validators to the request the handler sees (and keeps seeing, as an
 * origin behind a cache would), unless the client sent validators of its own; returns the header
 * names it added.
 */
function askToValidate(headers: CacheRequest['headers'], metadata: ResponseMetadata): string[] {
  if (headers['if-none-match'] !== undefined || headers['if-modified-since'] !== undefined)
    return [];
  const asked: string[] = [];
  if (!metadata.generatedEtag) {
    headers['if-none-match'] = metadata.etag;
    asked.push('if-none-match');
  }
  const lastModified = headerValue(metadata.headers, 'last-modified');
  if (lastModified !== undefined) {
    headers['if-modified-since'] = lastModified;
    asked.push('if-modified-since');
  }
  return asked;
}
