import type { OutgoingHttpHeaders } from 'node:http';
import { EntryTooLargeError, type Lease } from '../store/types.js';
import { FINISH } from './answers.js';
import { responseMetadata, type ResponseMetadata } from './entry.js';
import { fill, type Fill, type Found, type Shared } from './fill.js';
import { timingOf } from './freshness.js';
import { headerValue, listTokens, parseCacheGroups } from './headers.js';
import { variantKey } from './key.js';
import type { LookupParts } from './lookup.js';
import type { ResolvedRoute } from './options.js';
import { unstorable } from './policy.js';
import type { RequestKeys } from './request-keys.js';
import { CHANNELS, type LookupStatus } from './status.js';
import type { CacheRequest, CapturedResponse, Finish } from './types.js';

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

/** A miss's leader: what it read and leased, and how to settle the requests waiting for it. */
export interface Leading<C> {
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

/**
 * The store side of a miss: judges the handler's response as it is written and as it went out,
 * stores it under the lease the read took, and settles the requests that waited for it.
 */
export class ResponseStore<C> {
  readonly #parts: LookupParts;

  constructor(parts: LookupParts) {
    this.#parts = parts;
  }

  /**
   * A response of the handler, about to be written. Whether it is stored is decided twice: now,
   * to prepare the response (its validator and Date), and once written, on the head as it went
   * out: middleware may still add Set-Cookie, Cache-Control or Vary then.
   */
  stored(leading: Leading<C>, response: CapturedResponse | undefined): Finish {
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
  revalidated(leading: Leading<C>, expired: Found, response: CapturedResponse): Finish {
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
}

/**
 * Adds the stored response's validators to the request the handler sees (and keeps seeing, as an
 * origin behind a cache would), unless the client sent validators of its own; returns the header
 * names it added.
 */
export function askToValidate(
  headers: CacheRequest['headers'],
  metadata: ResponseMetadata,
): string[] {
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
