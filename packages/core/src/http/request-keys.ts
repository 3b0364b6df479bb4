import { checkStringArray, describe } from '../validate.js';
import { defaultKey, KEYED_HEADERS, pathOf, primaryJson, storeKey, tagPath } from './key.js';
import type { ResolvedRoute } from './options.js';
import type { CacheRequest } from './types.js';

/** Where one request on one route is stored, and the tags its entry carries. */
export interface RequestKeys {
  /** The store key before Vary applies. */
  primary: string;
  user: string | undefined;
  /**
   * The tags known before the handler runs: the route's, `user:<id>`, and the one
   * `invalidate({ keys })` matches: `key:<custom key>`, or `path:<path>` for the default key (see
   * {@link tagPath}). The store leases them with the read; `Cache-Groups` add to them. Worked
   * out when first read: a warm hit does not need them.
   */
  readonly tags: string[];
}

/**
 * The request's keys, or why it bypasses the cache: an authorized request with no user to key it
 * by, or a key longer than the route allows.
 */
export function requestKeys<C>(
  route: ResolvedRoute<C>,
  request: CacheRequest,
  context: C,
): RequestKeys | { bypass: 'authorization' | 'key-too-long' } {
  const user = toUser(route.perUser?.(context));
  if (user === undefined && request.headers.authorization !== undefined && !route.shared)
    return { bypass: 'authorization' };
  let json: string;
  let own: string;
  if (route.key) {
    const custom = route.key(context);
    if (typeof custom !== 'string')
      throw new TypeError(`route key() must return a string, got ${describe(custom)}`);
    own = `key:${custom}`;
    json = primaryJson(custom, user);
  } else {
    own = '';
    json = memoized(route, request, user);
  }
  if (json.length > route.maxKeyLength) return { bypass: 'key-too-long' };
  let tags: string[] | undefined;
  return {
    primary: storeKey(json),
    user,
    get tags() {
      if (tags) return tags;
      const routeTags = typeof route.tags === 'function' ? route.tags(context) : (route.tags ?? []);
      checkStringArray('route tags() result', routeTags);
      tags = [...routeTags];
      if (user !== undefined) tags.push(`user:${user}`);
      tags.push(own || `path:${tagPath(pathOf(request.url))}`);
      return tags;
    },
  };
}

/** The tags `invalidate({ keys })` drops for one key: a custom key's, or a path's. */
export function keyTags(key: string): string[] {
  return [`key:${key}`, `path:${tagPath(key)}`];
}

function toUser(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  throw new TypeError(
    `perUser() must return a string, a number or undefined, got ${describe(value)}`,
  );
}

function part(value: string): string {
  return `${value.length}:${value}`;
}

/** Most default keys each route remembers: hot URLs skip building their key again. */
const MEMO_SIZE = 4096;
const MEMOS = new WeakMap<object, Map<string, string>>();

/**
 * The default key's JSON, remembered per route by what it is made of (method aside: only GET and
 * HEAD get here): the URL as received, the route's match, Host, the URL-shaping headers, the user.
 */
function memoized<C>(
  route: ResolvedRoute<C>,
  request: CacheRequest,
  user: string | undefined,
): string {
  let memo = MEMOS.get(route);
  if (!memo) MEMOS.set(route, (memo = new Map()));
  const { headers } = request;
  // Every part length-prefixed: no user id or header value can pass for another part.
  let id = part(request.url) + part(headers.host ?? '') + (user === undefined ? '-' : part(user));
  for (const name of KEYED_HEADERS) {
    const value = headers[name];
    if (value !== undefined) id += name + part(String(value));
  }
  // A route's pattern and parameters follow from the URL for a given route.
  let json = memo.get(id);
  if (json === undefined) {
    json = primaryJson(defaultKey(request, route.query), user);
    if (memo.size >= MEMO_SIZE) memo.clear();
    memo.set(id, json);
  }
  return json;
}
