import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** The parts of a request the engine reads; adapters pass their framework's values through. */
export interface CacheRequest {
  /** Upper-case method. */
  method: string;
  /** Path and query exactly as received (Express `req.originalUrl`, Koa `ctx.originalUrl`). */
  url: string;
  /** Node's `req.headers` (lower-case names). */
  headers: IncomingHttpHeaders;
}

/** A response as the handler produced it, before it is sent. */
export interface CapturedResponse {
  status: number;
  headers: OutgoingHttpHeaders;
  /** The exact bytes the handler sent. */
  body: Buffer;
}

/** A response the adapter must send as is (a hit, a 304, a stale answer). */
export interface ReplayResponse {
  status: number;
  headers: Record<string, string | string[]>;
  /** `undefined` for a 304; the framework drops it for HEAD. */
  body: Buffer | undefined;
}

/** How the engine wants a request answered. */
export type Decision = Hit | Pass;

/** Answer with `response`; the handler does not run. */
export interface Hit {
  kind: 'hit';
  response: ReplayResponse;
}

/** Run the handler, then call `finish` with what it produced, before it is sent. */
export interface Pass {
  kind: 'pass';
  /** Set as `X-Cache` before the handler runs (`undefined` when debug headers are off). */
  xCache: 'MISS' | 'BYPASS' | undefined;
  /**
   * Called once with the handler's buffered response, or `undefined` when it streamed or failed
   * without a response, right before the response is sent. The adapter applies the returned
   * {@link Finish}.
   */
  finish(response: CapturedResponse | undefined): Finish;
  /**
   * Called instead of `finish` when the handler threw, with the headers set so far. Returns how to
   * answer with a stale copy instead of the error (`staleIfError`), if there is one.
   */
  fail(headers: OutgoingHttpHeaders): Finish | undefined;
}

/** What the adapter does to a passed response before sending it. */
export interface Finish {
  /** Response headers that must not reach the client (e.g. `cache-groups`). */
  removeHeaders: readonly string[];
  /** Response headers to add (e.g. the `etag` of the entry the response is stored as). */
  setHeaders?: Readonly<Record<string, string>>;
  /** Send this instead of the handler's response (after removing `removeHeaders`). */
  replace?: ReplayResponse;
}

/** What `invalidate` drops. */
export interface InvalidateSpec {
  /** Custom keys (what a route's `key` returned) or, for the default key, URL paths. */
  keys?: readonly string[];
  tags?: readonly string[];
  /** User ids as `perUser` returned them. */
  users?: readonly (string | number)[];
}

/** Counters since the cache was created. */
export interface CacheStats {
  hits: number;
  misses: number;
  stale: number;
  bypasses: number;
  stores: number;
  invalidations: number;
  errors: number;
}
