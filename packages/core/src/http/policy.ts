import { cacheControl, headerValue, listTokens } from './headers.js';
import { directivesFor } from './freshness.js';
import type { ResolvedRoute } from './options.js';
import type { CacheRequest, CapturedResponse } from './types.js';

// What may be served from and stored into the cache. Defaults lean safe: when in doubt, the
// request goes to the handler and nothing is stored.

/** Headers that let a client pick another method than the one on the request line. */
const METHOD_OVERRIDES = ['x-http-method-override', 'x-http-method', 'x-method-override'];
/** Headers some stacks honour to rewrite the URL: never let them near a shared entry. */
const URL_OVERRIDES = ['x-original-url', 'x-rewrite-url'];

/** Statuses RFC 9110 defines: what a cache understands for `must-understand`. */
const UNDERSTOOD = new Set([
  200, 201, 202, 203, 204, 205, 206, 300, 301, 302, 303, 304, 305, 307, 308, 400, 401, 402, 403,
  404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 426, 500, 501,
  502, 503, 504, 505,
]);

/**
 * Why `request` must bypass the cache on `route` (a Cache-Status detail token, see
 * LookupStatus), or `undefined` when it may use it.
 */
export function bypassReason<C>(
  request: CacheRequest,
  route: ResolvedRoute<C>,
): string | undefined {
  const { method, headers } = request;
  if (method !== 'GET' && method !== 'HEAD') return 'method';
  if (
    (headers['content-length'] !== undefined && headers['content-length'] !== '0') ||
    headers['transfer-encoding']
  ) {
    return 'request-body';
  }
  for (const name of METHOD_OVERRIDES) if (headers[name] !== undefined) return 'method-override';
  for (const name of URL_OVERRIDES) if (headers[name] !== undefined) return 'url-override';
  // no-cache, max-age=0 and Pragma are ignored: clients must not be able to force origin load.
  const cc = headers['cache-control'];
  if (cc !== undefined && cacheControl(cc).has('no-store')) return 'no-store';
  if (headers.authorization !== undefined && !route.perUser && !route.shared) {
    return 'authorization';
  }
  return undefined;
}

/**
 * Why the handler's response may not be stored (a Cache-Status detail token, see LookupStatus),
 * or `undefined` when it may be; `user` is the per-user id, if any; `authorized` whether the
 * request carried `Authorization`.
 */
export function unstorable<C>(
  response: CapturedResponse,
  route: ResolvedRoute<C>,
  user: string | undefined,
  authorized = false,
): string | undefined {
  const { headers } = response;
  if (!route.statuses.has(response.status)) return 'status';
  if (headers['set-cookie'] !== undefined) return 'set-cookie';
  const directives = directivesFor(headers, route.freshness);
  if (directives.has('no-store')) return 'no-store';
  // no-cache: never reused without revalidation (RFC 9111 5.2.2.4), which this cache does not do.
  if (directives.has('no-cache')) return 'no-cache';
  if (directives.has('private') && user === undefined) return 'private';
  // RFC 9111 5.2.2.3: stored only by a cache that knows what the status means.
  if (directives.has('must-understand') && !UNDERSTOOD.has(response.status))
    return 'must-understand';
  // RFC 9111 3.5: a shared cache reuses an authorized request's response only when it says so.
  const sharedAuthorized = authorized && user === undefined && route.freshness === 'headers';
  if (sharedAuthorized && !['public', 's-maxage', 'must-revalidate'].some((d) => directives.has(d)))
    return 'authorization';
  if (listTokens(headerValue(headers, 'vary')).includes('*')) return 'vary-star';
  // A declared length the body disagrees with: the client got something else than the body.
  const length = headerValue(headers, 'content-length');
  if (length !== undefined && Number(length) !== response.body.length) return 'content-length';
  return undefined;
}
