// The required tests of the HTTP cache test suite (cache-tests.fyi) restash fails on purpose,
// per mode, and why. cache-tests.test.ts fails when any other required test fails, and when one
// of these starts passing (so this list stays true).

/** Failed in both modes. */
const BOTH: Record<string, string> = {
  // Unsafe methods invalidate what the app names (invalidateOn, invalidate): restash does not
  // guess from a write's URL, Location or Content-Location which entries it changed.
  'invalidate-POST': 'writes invalidate what the app names',
  'invalidate-PUT': 'writes invalidate what the app names',
  'invalidate-DELETE': 'writes invalidate what the app names',
  'invalidate-M-SEARCH': 'writes invalidate what the app names',
  'invalidate-POST-location': 'writes invalidate what the app names',
  'invalidate-PUT-location': 'writes invalidate what the app names',
  'invalidate-DELETE-location': 'writes invalidate what the app names',
  'invalidate-M-SEARCH-location': 'writes invalidate what the app names',
  'invalidate-POST-cl': 'writes invalidate what the app names',
  'invalidate-PUT-cl': 'writes invalidate what the app names',
  'invalidate-DELETE-cl': 'writes invalidate what the app names',
  'invalidate-M-SEARCH-cl': 'writes invalidate what the app names',
  // The suite's origin declares a Content-Length its body does not have. In front of a remote
  // origin a proxy reads the declared bytes; in the app's own process those bytes reach the
  // client as the handler wrote them. restash does not store such a response.
  'headers-store-Content-Length': 'the origin frames its body wrongly, in our own process',
  // A response with Set-Cookie is never stored: one visitor's cookie must not reach another.
  'headers-store-Set-Cookie': 'responses with Set-Cookie are not stored',
  // Surrogate-Control aimed at a device name the origin learned from Surrogate-Capability:
  // restash announces none, so the directive is for someone else.
  'surrogate-fresh-cc-nostore': 'no Surrogate-Capability',
};

/** Failed only in the default mode, where freshness is the route's `ttl` by design. */
const ROUTE_TTL = 'freshness comes from the route ttl, not the response';
const DEFAULT_ONLY: Record<string, string> = {
  'stale-close-must-revalidate': ROUTE_TTL,
  'stale-close-proxy-revalidate': ROUTE_TTL,
  'stale-close-no-cache': ROUTE_TTL,
  'stale-close-s-maxage=2': ROUTE_TTL,
  'status-200-stale': ROUTE_TTL,
  'status-203-stale': ROUTE_TTL,
  'status-204-stale': ROUTE_TTL,
  'status-301-stale': ROUTE_TTL,
  'status-308-stale': ROUTE_TTL,
  'status-404-stale': ROUTE_TTL,
  'status-410-stale': ROUTE_TTL,
  'conditional-etag-vary-headers': `${ROUTE_TTL}: nothing expires to be revalidated`,
  '304-lm-use-stored-Test-Header': `${ROUTE_TTL}: nothing expires to be revalidated`,
  // The run configures the route `shared: true`, which caches authorized requests on purpose.
  'other-authorization': 'shared: true',
  // Surrogate-Control and CDN-Cache-Control are read in the header-driven mode only.
  'surrogate-no-store': 'targeted fields are read in headers mode only',
};

/** Failed only in the header-driven mode. */
const HEADERS_ONLY: Record<string, string> = {
  // An Age that is not one non-negative integer makes a response stale: `0,7200` included.
  'age-parse-prefix': 'an Age restash cannot read is treated as stale',
  // The same origin framing (see headers-store-Content-Length) and Set-Cookie, on revalidation.
  '304-etag-update-response-Content-Length': 'the origin frames its body wrongly',
  '304-etag-update-response-Set-Cookie': 'responses with Set-Cookie are not stored',
};

export const EXPECTED_FAILURES: Record<'default' | 'headers', Record<string, string>> = {
  default: { ...BOTH, ...DEFAULT_ONLY },
  headers: { ...BOTH, ...HEADERS_ONLY },
};
