import type { OutgoingHttpHeaders } from 'node:http';
import type { ResolvedRoute } from './options.js';
import type { CapturedResponse } from './types.js';
import { httpDate } from './conditional.js';
import { cacheControl, headerValue } from './headers.js';

// Freshness from the response's own headers (RFC 9111 4.2), for routes with
// `freshness: 'headers'`. restash is a shared cache: s-maxage comes first, `private` is not
// stored (see policy.ts).

/** Statuses a cache may give a heuristic lifetime to (RFC 9110 15.1). */
const HEURISTICALLY_CACHEABLE = new Set([
  200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501,
]);

/** Lifetimes beyond this are clamped (RFC 9111 1.2.2: 2^31 seconds is "infinity"). */
const MAX_LIFETIME = 2 ** 31;

/** How long a response may be served, per its headers. */
export interface Lifetime {
  /** Seconds it stays fresh from the moment it was generated. */
  lifetime: number;
  /** Seconds old it already was when received (`Age`, or how far its `Date` lies back). */
  age: number;
  /** Seconds of stale-while-revalidate and stale-if-error its directives allow, if they say. */
  swr: number | undefined;
  sie: number | undefined;
  /** must-revalidate or proxy-revalidate: never served stale. */
  noStale: boolean;
}

/**
 * The response's freshness lifetime and age, or `undefined` when it gives no explicit freshness
 * and `heuristic` (seconds, the route's `ttl` when set) may not or does not apply.
 */
export function lifetimeOf(
  status: number,
  headers: OutgoingHttpHeaders,
  receivedAt: number,
  heuristic: number | undefined,
): Lifetime | undefined {
  const directives = directivesFor(headers, 'headers');
  const date = httpDate(headerValue(headers, 'date')) ?? receivedAt;
  let lifetime: number | undefined;
  // RFC 9111 4.2.1: s-maxage for a shared cache, then max-age, then Expires, then a heuristic.
  for (const name of ['s-maxage', 'max-age']) {
    if (lifetime === undefined && directives.has(name)) {
      lifetime = deltaSeconds(directives.get(name)) ?? 0; // an invalid one: stale at once
    }
  }
  const expires = headers.expires;
  if (lifetime === undefined && expires !== undefined) {
    const at = Array.isArray(expires) ? undefined : httpDate(String(expires));
    lifetime = at === undefined ? 0 : Math.max(0, (at - date) / 1000);
  }
  if (lifetime === undefined) {
    const heuristicOk = HEURISTICALLY_CACHEABLE.has(status) || directives.has('public');
    if (heuristic === undefined || !heuristicOk) return undefined;
    lifetime = heuristic;
  }
  return {
    lifetime: Math.min(lifetime, MAX_LIFETIME),
    age: Math.max(ageValue(headers.age), Math.max(0, (receivedAt - date) / 1000)),
    swr: deltaSeconds(directives.get('stale-while-revalidate')),
    sie: deltaSeconds(directives.get('stale-if-error')),
    noStale: directives.has('must-revalidate') || directives.has('proxy-revalidate'),
  };
}

/**
 * The header fields that address this cache, in their order of precedence: `Surrogate-Control`
 * (for surrogates, W3C Edge Architecture) and `CDN-Cache-Control` (RFC 9213) before
 * `Cache-Control`. A targeted field, when present, replaces `Cache-Control` for this cache.
 */
const TARGETED = ['surrogate-control', 'cdn-cache-control'];

/**
 * The cache directives this cache follows for a response: in `headers` mode those of the most
 * specific field that addresses it (directives targeted at another device, `max-age=1;other`,
 * are not for us), else `Cache-Control`.
 */
export function directivesFor(
  headers: OutgoingHttpHeaders,
  freshness: 'route' | 'headers',
): Map<string, string> {
  if (freshness === 'headers') {
    for (const name of TARGETED) {
      const value = headerValue(headers, name);
      if (value === undefined) continue;
      const mine = new Map<string, string>();
      for (const [directive, argument] of cacheControl(value)) {
        const [bare = '', target] = argument.split(';');
        if (target === undefined) mine.set(directive, bare);
      }
      // A directive without argument may carry the target itself: `no-store;other`.
      for (const directive of [...mine.keys()]) {
        if (directive.includes(';')) mine.delete(directive);
      }
      return mine;
    }
  }
  return cacheControl(headerValue(headers, 'cache-control'));
}

/** An Age header as seconds; anything but one non-negative integer makes the response stale. */
function ageValue(age: OutgoingHttpHeaders['age']): number {
  if (age === undefined) return 0;
  const value = Array.isArray(age) ? undefined : String(age).trim();
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : Infinity;
}

/** A directive's delta-seconds argument (RFC 9111 1.2.2), or `undefined` if absent or invalid. */
function deltaSeconds(argument: string | undefined): number | undefined {
  if (argument === undefined || !/^\d+$/.test(argument)) return undefined;
  return Math.min(Number(argument), MAX_LIFETIME);
}

/** How long a stored response is served: fresh seconds from now, then grace periods. */
export interface Timing {
  ttl: number;
  swr: number;
  sie: number;
}

/**
 * Seconds a response stays fresh from now and its grace periods, per the route's `freshness`; or
 * `undefined` when, by its headers, it may not be served from the cache at all.
 */
export function timingOf<C>(
  route: ResolvedRoute<C>,
  response: CapturedResponse,
  now: number,
): Timing | undefined {
  const { ttl, staleWhileRevalidate: swr, staleIfError: sie } = route;
  if (route.freshness === 'route') return { ttl, swr, sie };
  const lifetime = lifetimeOf(response.status, response.headers, now, route.heuristic);
  if (!lifetime || lifetime.lifetime - lifetime.age <= 0) return undefined;
  // Grace the response allows, within what the route allows.
  const grace = (allowed: number | undefined, limit: number): number =>
    lifetime.noStale ? 0 : Math.min(allowed ?? limit, limit);
  return {
    ttl: lifetime.lifetime - lifetime.age,
    swr: grace(lifetime.swr, swr),
    sie: grace(lifetime.sie, sie),
  };
}
