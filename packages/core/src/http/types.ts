import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';

/** The parts of a request the engine reads; adapters pass their framework's values through. */
export interface CacheRequest {
  /** Upper-case method. */
  method: string;
  /** Path and query exactly as received (Express `req.originalUrl`, Koa `ctx.originalUrl`). */
  url: string;
  /** Node's `req.headers` (lower-case names). */
  headers: IncomingHttpHeaders;
  /**
   * The route the framework's router matched, when the adapter knows it: its pattern (with the
   * mount path) and the parameters the router decoded. Requests the router sends to one route
   * with the same parameters share an entry, whatever case, trailing slash or percent-encoding
   * their paths had.
   */
  route?: {
    /** The matched pattern with the mount path (`/api/products/:id`). */
    pattern: string;
    /** The parameters as the router decoded them. */
    params: Readonly<Record<string, unknown>>;
  };
  /**
   * Node's request (Express `req`, Koa `ctx.req`), when the adapter has one: a stale entry is then
   * refreshed by a copy of the request sent through the app in the background, while this one is
   * answered stale at once (`staleWhileRevalidate`).
   */
  node?: IncomingMessage;
}

/** A response as the route produced it, at the moment it is written. */
export interface CapturedResponse {
  /** The status the route set. */
  status: number;
  /** The headers set on the response when it was written (Node's names, as given). */
  headers: OutgoingHttpHeaders;
  /** The exact bytes written. */
  body: Buffer;
  /**
   * The headers the app had set before the route ran (upstream middleware: cors, tracing…). They
   * belong to each request, so those still unchanged are not stored.
   */
  upstream?: OutgoingHttpHeaders;
}

/** The status and headers as they went out, after every middleware had its say. */
export interface WrittenHead {
  /** The status sent. */
  status: number;
  /** The headers sent. */
  headers: OutgoingHttpHeaders;
}

/** A response the adapter must send as is (a hit, a 304, a stale answer). */
export interface ReplayResponse {
  /** The status to send. */
  status: number;
  /** Every header to send, lower-case names: the stored ones and what the cache adds. */
  headers: Record<string, string | string[]>;
  /** `undefined` for a 304; the framework drops it for HEAD. */
  body: Buffer | undefined;
}

/** How the engine wants a request answered. */
export type Decision = Hit | Pass;

/** Answer with `response`; the handler does not run. */
export interface Hit {
  /** Tells a {@link Decision} apart. */
  kind: 'hit';
  /** What to send. */
  response: ReplayResponse;
}

/**
 * Run the handler, then call `finish` with what it produced when it is written, and the `written`
 * the finish returns once the head went out. Every request that reaches a pass must end in
 * exactly one `finish` or `fail` call (a stream, an abort or a throw included): requests of other
 * clients may wait for it.
 */
export interface Pass {
  /** Tells a {@link Decision} apart. */
  kind: 'pass';
  /** Set as `X-Cache` before the handler runs (`undefined` when debug headers are off). */
  xCache: 'MISS' | 'BYPASS' | undefined;
  /**
   * Called once with the buffered response as it is about to be written, or `undefined` when it
   * streamed, was aborted or failed without a response. The adapter applies the returned
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
  /**
   * When present, call it exactly once after the response was written, with the head as it went
   * out (headers that middleware added while writing included), or `undefined` if writing failed:
   * whether the response is stored is decided on that.
   */
  written?(head: WrittenHead | undefined): void;
}

/** What `invalidate` drops. */
export interface InvalidateSpec {
  /** Custom keys (what a route's `key` returned) or, for the default key, URL paths. */
  keys?: readonly string[];
  /** Tags given to `tags` of routes, `wrap` calls or `set`. */
  tags?: readonly string[];
  /** User ids as `perUser` returned them. */
  users?: readonly (string | number)[];
}

/** Counters of one route since the cache was created. */
export interface RouteStats {
  /** Requests answered with a fresh stored response or a concurrent request's (`collapsed`). */
  hits: number;
  /** Requests the handler answered because nothing fresh was stored (revalidations included). */
  misses: number;
  /** Requests answered with a stale copy (`staleWhileRevalidate`, `staleIfError`). */
  stale: number;
  /** Requests that did not use the cache; `Cache-Status` and the lookup channel say why. */
  bypasses: number;
  /** Responses stored. */
  stores: number;
}

/** Counters since the cache was created. */
export interface CacheStats extends RouteStats {
  /** Invalidations the store carried out at the first attempt (not those left to retries). */
  invalidations: number;
  /** Errors the cache absorbed: what `onError` heard. */
  errors: number;
  /** Hits answered from process memory (the local tier, the in-memory store), no round trip. */
  localHits: number;
  /** Responses computed during an invalidation of their tags, so not stored (leases). */
  refused: number;
  /** Per route: by its `name`, or the pattern its router matched, or `'*'`. */
  routes: Record<string, RouteStats>;
}
