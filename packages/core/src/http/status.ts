import { createHash } from 'node:crypto';
import { channel } from 'node:diagnostics_channel';

// What the cache did with a request, said three ways from one object: the RFC 9211 Cache-Status
// response header, the `restash:*` diagnostics channels (as undici and fastify publish theirs),
// and the per-route counters of `stats()`.

/** How a lookup ended. */
export type Outcome = 'hit' | 'stale' | 'collapsed' | 'revalidated' | 'miss' | 'bypass';

/**
 * What one request's lookup did. It is the message of the `restash:lookup` channel (published
 * once the response is known, so `stored` and `reason` are final), and what `Cache-Status` says.
 */
export interface LookupStatus {
  /** The route's `name`, or the pattern its router matched, or `'*'`. */
  route: string;
  /**
   * How it ended: `collapsed` got what a concurrent request for the same key produced,
   * `revalidated` the stored response a 304 from the handler confirmed.
   */
  outcome: Outcome;
  /**
   * Why the cache was bypassed or the response not stored, as a `Cache-Status` detail token:
   * `method`, `request-body`, `method-override`, `url-override`, `no-store`, `authorization`,
   * `key-too-long`, `closed`, `invalidation-pending`, `error` (bypasses); `status`, `set-cookie`,
   * `no-cache`, `private`, `must-understand`, `vary-star`, `content-length`, `no-freshness`,
   * `streamed`, `head`, `no-lease` (responses not stored).
   */
  reason: string | undefined;
  /** The response qualified to be stored when it was written. */
  stored: boolean;
  /** What the request found under its key when it went to the handler (RFC 9211 `fwd`). */
  fwd: 'uri-miss' | 'vary-miss' | 'stale' | 'bypass' | undefined;
  /** Seconds of freshness left, on a hit (negative: served stale). */
  ttl: number | undefined;
  /** SHA-256 of the store key, hex, 16 characters: correlates without exposing the URL or user. */
  key: string | undefined;
  /** Milliseconds from the start of the lookup to the decision. */
  duration: number;
}

/** The channels restash publishes on (`node:diagnostics_channel`). */
export const CHANNELS = {
  /** A {@link LookupStatus} per request that reached a cached route. */
  lookup: channel('restash:lookup'),
  /** `{ route, key, stored, reason, duration }` per store attempted after a miss. */
  store: channel('restash:store'),
  /** `{ tags, removed, duration, error }` per invalidation. */
  invalidate: channel('restash:invalidate'),
  /** `{ error }` per error the cache absorbed (what `onError` hears). */
  error: channel('restash:error'),
};

/** The RFC 9211 Cache-Status value for `status` (this cache's name is `restash`). */
export function cacheStatus(status: LookupStatus): string {
  const { outcome, fwd, stored, ttl, reason } = status;
  let value = 'restash';
  if (outcome === 'hit' || outcome === 'stale') value += '; hit';
  if (fwd) value += `; fwd=${fwd}`;
  if (outcome === 'revalidated') value += '; fwd-status=304';
  if (outcome === 'collapsed') value += '; collapsed';
  if (ttl !== undefined) value += `; ttl=${Math.floor(ttl)}`;
  if (stored) value += '; stored';
  if (reason) value += `; detail=${reason}`;
  return value;
}

/** A short hash of a store key for diagnostics. */
export function keyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}
