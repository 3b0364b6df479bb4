import { toSeconds, type Duration } from '../duration.js';
import { resolveStampede, STAMPEDE_WAIT_MS, type StampedeOptions } from '../store/stampede.js';
import type { CacheStore } from '../store/types.js';
import type { QueryFilter } from './key.js';
import {
  checkBoolean,
  checkFunction,
  checkInteger,
  checkKnownKeys,
  checkObject,
  checkStringArray,
  describe,
} from '../validate.js';

/** A user id as `perUser` may return it. */
export type UserId = string | number;

/** Options a route may set; `createCache` options are their defaults. `C` is `req` or `ctx`. */
export interface RouteOptions<C> {
  /**
   * How long a stored response is fresh: seconds, or a string such as `'5m'` or `'2 days'`. With
   * `freshness: 'headers'`, the lifetime of responses that do not state one (a heuristic), and
   * none is stored without it unless set.
   * @default 60
   */
  ttl?: Duration;
  /**
   * Where freshness comes from: `'route'` (the route's `ttl`, whatever the response says) or
   * `'headers'` (the response's `Cache-Control: s-maxage / max-age`, `Expires` and `Age`, RFC 9111
   * 4.2; its `stale-while-revalidate` / `stale-if-error` within the route's limits;
   * `must-revalidate` and `proxy-revalidate` honoured).
   * @default 'route'
   */
  freshness?: 'route' | 'headers';
  /**
   * Tags to store the response under (invalidate them with `invalidate({ tags })`).
   * @default []
   */
  tags?: readonly string[] | ((context: C) => readonly string[]);
  /**
   * Keys responses per user; return `undefined` for an anonymous request.
   * @default none: one entry for everyone, and requests with `Authorization` bypass the cache
   * unless `shared` is set
   */
  perUser?: (context: C) => UserId | undefined;
  /**
   * Replaces the default key: requests that get the same string share an entry (per user, with
   * `perUser`), and `invalidate({ keys })` takes these strings.
   * @default the `Host`, the route the router matched and its parameters (else the path), the
   * parameters `query` keeps, and the `X-Forwarded-Host` / `-Proto` / `-Prefix` and `Forwarded`
   * headers
   */
  key?: (context: C) => string;
  /**
   * Cacheable statuses.
   * @default [200]
   */
  statuses?: readonly number[];
  /**
   * How long after expiry a stale copy answers requests at once while a background copy of a
   * request refreshes it (seconds or a string such as `'30s'`).
   * @default 0
   */
  staleWhileRevalidate?: Duration;
  /**
   * How long after expiry a stale copy replaces a 5xx or a failed handler (seconds or a string
   * such as `'1h'`).
   * @default 0
   */
  staleIfError?: Duration;
  /**
   * Milliseconds a request waits for the handler when a stale copy within `staleIfError` exists:
   * after that it is answered stale (`detail=timeout`), while the handler goes on and its answer
   * refreshes the entry. The handler then runs for a background copy of the request.
   * @default none: the request waits for the handler
   */
  timeout?: number;
  /**
   * Cache responses to requests with `Authorization` on a route without `perUser`.
   * @default false
   */
  shared?: boolean;
  /**
   * Response headers never stored or replayed, beyond the built-in list of per-request headers
   * (tracing ids, `Set-Cookie`, …). A route's list adds to the cache's.
   * @default []
   */
  unstoredHeaders?: readonly string[];
  /**
   * The route's name in `stats().routes`, diagnostics and metrics.
   * @default the pattern its router matched (`/api/products/:id`), or `'*'` for a cache mounted
   * before routing
   */
  name?: string;
  /**
   * Which query parameters are part of the key: a list of names (`page`, or `filter` for
   * `filter[…]`), or a test of a decoded name. Others are ignored: requests that differ only in
   * them share an entry, so name every parameter the handler reads.
   * @default `undefined`: all of them
   */
  query?: QueryFilter;
  /**
   * Stampede protection across instances: when a `GET` misses on several app instances at once,
   * one runs the handler and the others wait for its stored response, at most `wait` (seconds or
   * a string such as `'500ms'`; also the most a holder that died keeps the others waiting), then
   * run their own. `true` is the default wait, `false` turns it off. See the README's "Stampede
   * protection".
   * @default true: `{ wait: '5s' }`
   */
  stampede?: boolean | StampedeOptions;
}

/** Options of `createCache`. */
export interface HttpCacheOptions<C> extends Omit<RouteOptions<C>, 'tags'> {
  /**
   * Requests whose key (method, host, path, query, user and forwarded headers, as JSON) is longer
   * than this many characters bypass the cache instead of adding an entry each.
   * @default 2048
   */
  maxKeyLength?: number;
  /**
   * Where responses live.
   * @default a {@link MemoryCacheStore} of its own, closed with the cache
   */
  store?: CacheStore;
  /** Send `X-Cache` and `Age`. @default true */
  debugHeaders?: boolean;
  /**
   * Send the RFC 9211 `Cache-Status` header on every response of a cached route: what the cache
   * did and, when it did not store or serve, why (`detail=`). @default true
   */
  cacheStatus?: boolean;
  /**
   * Hears every error the cache absorbs (the request is then served by the handler).
   * @default `console.error`, at most once per 10 s: an outage shows without a line per request
   */
  onError?: (err: unknown) => void;
}

/** A route's options merged with the cache's defaults. */
export interface ResolvedRoute<C> {
  ttl: number;
  freshness: 'route' | 'headers';
  /** The `ttl` the options set, if any: the heuristic lifetime in `headers` mode. */
  heuristic: number | undefined;
  tags: RouteOptions<C>['tags'];
  perUser: RouteOptions<C>['perUser'];
  key: RouteOptions<C>['key'];
  statuses: ReadonlySet<number>;
  staleWhileRevalidate: number;
  staleIfError: number;
  timeout: number | undefined;
  shared: boolean;
  /** Lower-case names of the headers not to store (the options' lists, not the built-in one). */
  unstored: ReadonlySet<string>;
  query: QueryFilter | undefined;
  maxKeyLength: number;
  name: string | undefined;
  /** Ms a miss waits for another instance's response; `false`: no stampede protection. */
  stampede: number | false;
}

const ROUTE_KEYS = [
  'ttl',
  'freshness',
  'tags',
  'perUser',
  'key',
  'statuses',
  'staleWhileRevalidate',
  'staleIfError',
  'timeout',
  'shared',
  'unstoredHeaders',
  'query',
  'name',
  'stampede',
] as const;
const CACHE_KEYS = [
  ...ROUTE_KEYS.filter((k) => k !== 'tags'),
  'store',
  'debugHeaders',
  'onError',
  'maxKeyLength',
  'cacheStatus',
];

/** Throws a TypeError naming the first bad `createCache` option. */
export function checkCacheOptions<C>(options: HttpCacheOptions<C>): void {
  checkObject('options', options);
  checkKnownKeys('createCache', options, CACHE_KEYS);
  checkRouteFields('', options);
  checkBoolean('debugHeaders', options.debugHeaders);
  checkBoolean('cacheStatus', options.cacheStatus);
  checkInteger('maxKeyLength', options.maxKeyLength, 1);
  checkFunction('onError', options.onError);
  const { store } = options;
  if (store !== undefined && !isStore(store)) {
    throw new TypeError(
      `store must implement CacheStore (get, set, delete, invalidateTags, lease, setLeased, close), got ${describe(store)}`,
    );
  }
}

/**
 * Throws a TypeError naming the first bad route option, then merges in the defaults. A duration
 * alone is the `ttl` (`cache.route('5 minutes')`, as apicache users write it).
 */
export function resolveRoute<C>(
  defaults: HttpCacheOptions<C>,
  routeOptions: RouteOptions<C> | Duration,
): ResolvedRoute<C> {
  const options =
    typeof routeOptions === 'string' || typeof routeOptions === 'number'
      ? { ttl: routeOptions }
      : routeOptions;
  checkObject('route options', options);
  checkKnownKeys('route', options, ROUTE_KEYS);
  checkRouteFields('route.', options);
  const { tags } = options;
  if (typeof tags !== 'function') checkStringArray('route.tags', tags);
  const ttl = toSeconds('route.ttl', options.ttl) ?? toSeconds('ttl', defaults.ttl);
  const seconds = (name: 'staleWhileRevalidate' | 'staleIfError'): number =>
    toSeconds(`route.${name}`, options[name]) ?? toSeconds(name, defaults[name]) ?? 0;
  return {
    ttl: ttl ?? 60,
    freshness: options.freshness ?? defaults.freshness ?? 'route',
    heuristic: ttl,
    tags,
    perUser: options.perUser ?? defaults.perUser,
    key: options.key ?? defaults.key,
    statuses: new Set(options.statuses ?? defaults.statuses ?? [200]),
    staleWhileRevalidate: seconds('staleWhileRevalidate'),
    staleIfError: seconds('staleIfError'),
    timeout: options.timeout ?? defaults.timeout,
    shared: options.shared ?? defaults.shared ?? false,
    query: options.query ?? defaults.query,
    name: options.name,
    maxKeyLength: defaults.maxKeyLength ?? 2048,
    stampede:
      resolveStampede('route.stampede', options.stampede) ??
      resolveStampede('stampede', defaults.stampede) ??
      STAMPEDE_WAIT_MS,
    unstored: new Set(
      [...(defaults.unstoredHeaders ?? []), ...(options.unstoredHeaders ?? [])].map((name) =>
        name.toLowerCase(),
      ),
    ),
  };
}

function checkRouteFields<C>(where: string, options: Omit<RouteOptions<C>, 'tags'>): void {
  toSeconds(`${where}ttl`, options.ttl);
  const { freshness } = options;
  if (freshness !== undefined && freshness !== 'route' && freshness !== 'headers') {
    throw new TypeError(
      `${where}freshness must be 'route' or 'headers', got ${describe(freshness)}`,
    );
  }
  toSeconds(`${where}staleWhileRevalidate`, options.staleWhileRevalidate);
  toSeconds(`${where}staleIfError`, options.staleIfError);
  checkInteger(`${where}timeout`, options.timeout, 1);
  checkFunction(`${where}perUser`, options.perUser);
  checkFunction(`${where}key`, options.key);
  checkBoolean(`${where}shared`, options.shared);
  checkStringArray(`${where}unstoredHeaders`, options.unstoredHeaders);
  resolveStampede(`${where}stampede`, options.stampede);
  if (typeof options.query !== 'function') checkStringArray(`${where}query`, options.query);
  const { name } = options as { name?: unknown };
  if (name !== undefined && typeof name !== 'string') {
    throw new TypeError(`${where}name must be a string, got ${describe(name)}`);
  }
  const { statuses } = options;
  if (
    statuses !== undefined &&
    !(
      Array.isArray(statuses) &&
      statuses.every((s) => Number.isInteger(s) && s >= 200 && s <= 599 && s !== 206 && s !== 304)
    )
  ) {
    throw new TypeError(
      `${where}statuses must be an array of final statuses (200-599, not 206 or 304), got ${describe(statuses)}`,
    );
  }
}

function isStore(value: unknown): value is CacheStore {
  if (typeof value !== 'object' || value === null) return false;
  const methods = ['get', 'set', 'delete', 'invalidateTags', 'lease', 'setLeased', 'close'];
  return methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function');
}
