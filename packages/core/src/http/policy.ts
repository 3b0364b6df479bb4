import { cacheControl, headerValue, listTokens } from './headers.js';
import type { ResolvedRoute } from './options.js';
import type { CacheRequest, CapturedResponse } from './types.js';

// What may be served from and stored into the cache. Defaults lean safe: when in doubt, the
// request goes to the handler and nothing is stored.

/** Headers that let a client pick another method than the one on the request line. */
const METHOD_OVERRIDES = ['x-http-method-override', 'x-http-method', 'x-method-override'];
/** Headers some stacks honour to rewrite the URL: never let them near a shared entry. */
const URL_OVERRIDES = ['x-original-url', 'x-rewrite-url'];

/** Why `request` must bypass the cache on `route`, or `undefined` when it may use it. */
export function bypassReason<C>(
  request: CacheRequest,
  route: ResolvedRoute<C>,
): string | undefined {
  const { method, headers } = request;
  if (method !== 'GET' && method !== 'HEAD') return `method ${method}`;
  if (
    (headers['content-length'] !== undefined && headers['content-length'] !== '0') ||
    headers['transfer-encoding']
  ) {
    return 'request has a body';
  }
  const override = [...METHOD_OVERRIDES, ...URL_OVERRIDES].find(
    (name) => headers[name] !== undefined,
  );
  if (override) return `request has ${override}`;
  // no-cache, max-age=0 and Pragma are ignored: clients must not be able to force origin load.
  if (cacheControl(headerValue(headers, 'cache-control')).has('no-store'))
    return 'request no-store';
  if (headers.authorization !== undefined && !route.perUser && !route.shared) {
    return 'Authorization on a route without perUser or shared';
  }
  return undefined;
}

/** Whether the handler's response may be stored; `user` is the per-user id, if any. */
export function isStorable<C>(
  response: CapturedResponse,
  route: ResolvedRoute<C>,
  user: string | undefined,
): boolean {
  const { headers } = response;
  if (!route.statuses.has(response.status)) return false;
  if (headers['set-cookie'] !== undefined) return false;
  const directives = cacheControl(headerValue(headers, 'cache-control'));
  // no-cache: never reused without revalidation (RFC 9111 5.2.2.4), which this cache does not do.
  if (directives.has('no-store') || directives.has('no-cache')) return false;
  if (directives.has('private') && user === undefined) return false;
  if (listTokens(headerValue(headers, 'vary')).includes('*')) return false;
  // A declared length the body disagrees with: the client got something else than the body.
  const length = headerValue(headers, 'content-length');
  if (length !== undefined && Number(length) !== response.body.length) return false;
  return true;
}
