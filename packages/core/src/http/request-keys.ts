import { checkStringArray, describe } from '../validate.js';
import { defaultKey, pathOf, primaryKey } from './key.js';
import type { ResolvedRoute } from './options.js';
import type { CacheRequest } from './types.js';

/** Where one request on one route is stored, and the tags its entry carries. */
export interface RequestKeys {
  /** The store key before Vary applies. */
  primary: string;
  user: string | undefined;
  /**
   * The tags known before the handler runs: the route's, `user:<id>` and the `key:` tag that
   * `invalidate({ keys })` matches (the custom key or the URL path). The store leases them with
   * the read; `Cache-Groups` from the response add to them.
   */
  tags: string[];
}

/** The request's keys, or `undefined` when an authorized request has no user to key it by. */
export function requestKeys<C>(
  route: ResolvedRoute<C>,
  request: CacheRequest,
  context: C,
): RequestKeys | undefined {
  const user = toUser(route.perUser?.(context));
  if (user === undefined && request.headers.authorization !== undefined && !route.shared)
    return undefined;
  const routeTags = typeof route.tags === 'function' ? route.tags(context) : (route.tags ?? []);
  checkStringArray('route tags() result', routeTags);
  const tags = [...routeTags];
  if (user !== undefined) tags.push(`user:${user}`);
  if (route.key) {
    const custom = route.key(context);
    if (typeof custom !== 'string')
      throw new TypeError(`route key() must return a string, got ${describe(custom)}`);
    tags.push(`key:${custom}`);
    return { primary: primaryKey(custom, user), user, tags };
  }
  tags.push(`key:${pathOf(request.url)}`);
  return { primary: primaryKey(defaultKey(request), user), user, tags };
}

function toUser(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  throw new TypeError(
    `perUser() must return a string, a number or undefined, got ${describe(value)}`,
  );
}
