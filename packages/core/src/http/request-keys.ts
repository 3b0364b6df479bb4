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
  if (route.key) {
    const custom = route.key(context);
    if (typeof custom !== 'string')
      throw new TypeError(`route key() must return a string, got ${describe(custom)}`);
    const json = primaryJson(custom, user);
    if (json.length > route.maxKeyLength) return { bypass: 'key-too-long' };
    return new Keys(storeKey(json), user, route, context, request.url, `key:${custom}`);
  }
  const { json, primary } = memoized(route, request, user);
  if (json.length > route.maxKeyLength) return { bypass: 'key-too-long' };
  return new Keys(primary, user, route, context, request.url, '');
}

/** A class rather than a literal with a getter: a warm hit allocates one small object. */
class Keys<C> implements RequestKeys {
  #tags: string[] | undefined;

  constructor(
    readonly primary: string,
    readonly user: string | undefined,
    private readonly route: ResolvedRoute<C>,
    private readonly context: C,
    private readonly url: string,
    /** The tag `invalidate({ keys })` matches for a custom key; '' for the default key. */
    private readonly own: string,
  ) {}

  get tags(): string[] {
    if (this.#tags) return this.#tags;
    const { route, user } = this;
    const routeTags =
      typeof route.tags === 'function' ? route.tags(this.context) : (route.tags ?? []);
    checkStringArray('route tags() result', routeTags);
    const tags = [...routeTags];
    if (user !== undefined) tags.push(`user:${user}`);
    tags.push(this.own || `path:${tagPath(pathOf(this.url))}`);
    return (this.#tags = tags);
  }
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

/** A default key worked out once: its JSON (bounded by `maxKeyLength`) and its store key. */
interface Memo {
  json: string;
  primary: string;
  /** The Host it was made for, in {@link Memos.byUrl}. */
  host?: string | undefined;
}

/**
 * A route's remembered keys: by URL alone for the usual request (no user, no URL-shaping
 * header: then only Host can differ), so a warm hit builds no string; else by everything the key
 * is made of.
 */
interface Memos {
  byUrl: Map<string, Memo>;
  byParts: Map<string, Memo>;
}

const MEMOS = new WeakMap<object, Memos>();

/**
 * The default key, remembered per route by what it is made of (method aside: only GET and
 * HEAD get here): the URL as received, the route's match, Host, the URL-shaping headers, the user.
 */
function memoized<C>(
  route: ResolvedRoute<C>,
  request: CacheRequest,
  user: string | undefined,
): Memo {
  let memos = MEMOS.get(route);
  if (!memos) MEMOS.set(route, (memos = { byUrl: new Map(), byParts: new Map() }));
  const { headers, url } = request;
  const { host } = headers;
  let plain = user === undefined;
  for (const name of KEYED_HEADERS) if (headers[name] !== undefined) plain = false;
  if (plain) {
    const memo = memos.byUrl.get(url);
    if (memo && memo.host === host) return memo;
    return remember(memos.byUrl, url, { ...build(route, request, user), host });
  }
  // Every part length-prefixed: no user id or header value can pass for another part.
  let id = part(url) + part(host ?? '') + (user === undefined ? '-' : part(user));
  for (const name of KEYED_HEADERS) {
    const value = headers[name];
    if (value !== undefined) id += name + part(String(value));
  }
  // A route's pattern and parameters follow from the URL for a given route.
  return memos.byParts.get(id) ?? remember(memos.byParts, id, build(route, request, user));
}

function build<C>(route: ResolvedRoute<C>, request: CacheRequest, user: string | undefined): Memo {
  const json = primaryJson(defaultKey(request, route.query), user);
  return { json, primary: storeKey(json) };
}

function remember(memo: Map<string, Memo>, id: string, keys: Memo): Memo {
  if (memo.size >= MEMO_SIZE) memo.clear();
  memo.set(id, keys);
  return keys;
}
