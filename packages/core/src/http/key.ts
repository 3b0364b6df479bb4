import { createHash } from 'node:crypto';
import { headerValue } from './headers.js';
import type { CacheRequest } from './types.js';

// Keys are JSON arrays: JSON is injective, so no crafted path, query, user id or header value can
// make two different requests share a key, whatever characters they contain. Two requests share
// an entry only when the app is bound to answer them alike: the same route with the same
// parameters, and query strings every common parser reads the same.

/** Request headers that change how apps build URLs: a request is keyed by them, not poisoned. */
export const KEYED_HEADERS = [
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-prefix',
  'forwarded',
];

/** Keys longer than this (as JSON) are stored under their hash. */
const MAX_PLAIN_KEY = 256;

/** Which query parameters are part of the key: a list of names, or a test of a (decoded) name. */
export type QueryFilter = readonly string[] | ((name: string) => boolean);

/**
 * The default key's parts: GET (HEAD reads the GET entry) + Host + where + the query + the
 * URL-shaping forwarded headers. "Where" is the route the router matched and its parameters when
 * the adapter knows them — the router already folded case, trailing slashes and percent-encoding
 * into them exactly as it routes — and the path exactly as received otherwise.
 */
export function defaultKey(request: CacheRequest, filter: QueryFilter | undefined): unknown[] {
  const { path, query } = splitUrl(request.url);
  const { route } = request;
  const where = route ? [route.pattern, sortedEntries(route.params)] : path;
  const forwarded = KEYED_HEADERS.map((name) => headerValue(request.headers, name) ?? null);
  return ['GET', request.headers.host ?? '', where, queryPairs(query, filter), ...forwarded];
}

/** The path part of a URL. */
export function pathOf(url: string): string {
  return splitUrl(url).path;
}

/**
 * A path as the `path:` tag names it, so that `invalidate({ keys: ['/api/p/7'] })` reaches every
 * variant a router may take for it: percent-encoded unreserved characters decoded (RFC 3986
 * 6.2.2.2), case folded, a trailing slash dropped. Folding more than a router does only ever
 * invalidates more, never serves a wrong entry.
 */
export function tagPath(path: string): string {
  const decoded = path.replace(/%([0-9a-fA-F]{2})/g, (escape, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : escape;
  });
  const folded = decoded.toLowerCase();
  return folded.length > 1 && folded.endsWith('/') ? folded.slice(0, -1) : folded;
}

/** RFC 3986 unreserved characters: their percent-encoding means the same URI. */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * The key of a route's response for one user (or anonymous) before Vary applies, as JSON; `base`
 * is the route's custom key or the {@link defaultKey}'s parts.
 */
export function primaryJson(base: string | unknown[], user: string | undefined): string {
  return JSON.stringify([typeof base === 'string' ? 'key' : 'url', base, user ?? null]);
}

/** The store key for key JSON: long keys are hashed so they stay cheap to send and compare. */
export function storeKey(json: string): string {
  if (json.length <= MAX_PLAIN_KEY) return `http:${json}`;
  return `http:sha256:${createHash('sha256').update(json).digest('base64url')}`;
}

/** The key of one variant of a response that varies on `names`. */
export function variantKey(
  primary: string,
  names: readonly string[],
  request: CacheRequest,
): string {
  const parts = names.map((name) => [name, headerValue(request.headers, name) ?? null]);
  return storeKey(JSON.stringify([primary, ...parts]));
}

function splitUrl(url: string): { path: string; query: string | null } {
  const q = url.indexOf('?');
  return q === -1 ? { path: url, query: null } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

function sortedEntries(params: Readonly<Record<string, unknown>>): [string, unknown][] {
  return Object.entries(params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The query as decoded name/value pairs, sorted by name; pairs of one name keep their order (so
 * do `a` and `a[]`: sorted by the name before any bracket, as qs reads them), which is all that
 * common parsers (querystring, qs, URLSearchParams) read from a query. A pair that does not
 * decode stays raw, marked as such. `filter` keeps only the parameters it names.
 */
function queryPairs(query: string | null, filter: QueryFilter | undefined): unknown[] | null {
  if (query === null) return null;
  const keep =
    typeof filter === 'function'
      ? filter
      : filter && ((name: string) => filter.includes(name) || filter.includes(baseName(name)));
  const pairs: { sortBy: string; pair: unknown[] }[] = [];
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decode(eq === -1 ? part : part.slice(0, eq));
    const value = eq === -1 ? null : decode(part.slice(eq + 1));
    if (name === undefined || value === undefined) {
      pairs.push({ sortBy: baseName(part), pair: [part] }); // one element: never a decoded pair
    } else if (!keep || keep(name)) {
      pairs.push({ sortBy: baseName(name), pair: [name, value] });
    }
  }
  // Array.prototype.sort is stable: pairs of one name keep their relative order.
  pairs.sort((a, b) => (a.sortBy < b.sortBy ? -1 : a.sortBy > b.sortBy ? 1 : 0));
  return pairs.map(({ pair }) => pair);
}

function baseName(name: string): string {
  const bracket = name.indexOf('[');
  return bracket === -1 ? name : name.slice(0, bracket);
}

/** What query parsers make of a component ('+' is a space), or `undefined` if it is malformed. */
function decode(component: string): string | undefined {
  try {
    return decodeURIComponent(component.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}
