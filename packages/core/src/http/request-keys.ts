import { checkStringArray, describe } from '../validate.js';
import { defaultKey, pathOf, primaryJson, storeKey, tagPath } from './key.js';
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
   * {@link tagPath}). The store leases them with the read; `Cache-Groups` add to them.
   */
  tags: string[];
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
  const routeTags = typeof route.tags === 'function' ? route.tags(context) : (route.tags ?? []);
  checkStringArray('route tags() result', routeTags);
  const tags = [...routeTags];
  if (user !== undefined) tags.push(`user:${user}`);
  let json: string;
  if (route.key) {
    const custom = route.key(context);
    if (typeof custom !== 'string')
      throw new TypeError(`route key() must return a string, got ${describe(custom)}`);
    tags.push(`key:${custom}`);
    json = primaryJson(custom, user);
  } else {
    tags.push(`path:${tagPath(pathOf(request.url))}`);
    json = primaryJson(defaultKey(request, route.query), user);
  }
  if (json.length > route.maxKeyLength) return { bypass: 'key-too-long' };
  return { primary: storeKey(json), user, tags };
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
