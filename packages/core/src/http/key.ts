import { createHash } from 'node:crypto';
import { headerValue } from './headers.js';
import type { CacheRequest } from './types.js';

// Keys are JSON arrays of strings: JSON is injective, so no crafted path, query, user id or
// header value can make two different requests share a key, whatever characters they contain.

/** Request headers that change how apps build URLs: a request is keyed by them, not poisoned. */
export const KEYED_HEADERS = [
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-prefix',
  'forwarded',
];

const MAX_PLAIN_KEY = 256;

/**
 * The default key: GET (HEAD reads the GET entry) + Host + path + query with its parameters
 * sorted by name (values of one name keep their order) + the URL-shaping forwarded headers.
 * Nothing is decoded: `%41` and `A` stay different keys, which is safe if not minimal.
 */
export function defaultKey(request: CacheRequest): (string | null)[] {
  const { path, query } = splitUrl(request.url);
  const forwarded = KEYED_HEADERS.map((name) => headerValue(request.headers, name) ?? null);
  return ['GET', request.headers.host ?? '', path, sortQuery(query), ...forwarded];
}

/** The path part of a URL, used as the logical key that `invalidate({ keys })` matches. */
export function pathOf(url: string): string {
  return splitUrl(url).path;
}

/**
 * The key of a route's response for one user (or anonymous) before Vary applies; `base` is the
 * route's custom key or the {@link defaultKey}.
 */
export function primaryKey(base: string | (string | null)[], user: string | undefined): string {
  return storeKey([typeof base === 'string' ? 'key' : 'url', base, user ?? null]);
}

/** The key of one variant of a response that varies on `names`. */
export function variantKey(
  primary: string,
  names: readonly string[],
  request: CacheRequest,
): string {
  return storeKey([
    primary,
    ...names.map((name) => [name, headerValue(request.headers, name) ?? null]),
  ]);
}

/** Long keys are hashed so they stay cheap to send, store and compare. */
function storeKey(parts: unknown[]): string {
  const json = JSON.stringify(parts);
  if (json.length <= MAX_PLAIN_KEY) return `http:${json}`;
  return `http:sha256:${createHash('sha256').update(json).digest('base64url')}`;
}

function splitUrl(url: string): { path: string; query: string | null } {
  const q = url.indexOf('?');
  return q === -1 ? { path: url, query: null } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

function sortQuery(query: string | null): string | null {
  if (query === null || !query.includes('&')) return query;
  const pairs = query.split('&');
  const name = (pair: string): string => {
    const eq = pair.indexOf('=');
    return eq === -1 ? pair : pair.slice(0, eq);
  };
  // Array.prototype.sort is stable: repeated names keep their relative order.
  return pairs.sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0)).join('&');
}
