import { createHash } from 'node:crypto';
import { etagMatches, headerValue, listTokens } from './headers.js';
import type { CacheRequest, CapturedResponse, ReplayResponse } from './types.js';

// A cached response is stored as its body (the value) and this metadata. Responses that vary get
// a marker under their primary key naming the request headers they vary on.

/** Metadata of a stored response. */
export type ResponseMetadata = {
  kind: 'response';
  status: number;
  headers: Record<string, string | string[]>;
  etag: string;
  /** ms since the epoch. */
  storedAt: number;
  /** Seconds fresh, then seconds of stale-while-revalidate and stale-if-error grace. */
  ttl: number;
  swr: number;
  sie: number;
  /** The tags it was stored under (so a hit can be held back while their invalidation retries). */
  tags?: string[];
};

/** Metadata of a Vary marker. */
export type VaryMetadata = { kind: 'vary'; vary: string[] };

export type EntryMetadata = ResponseMetadata | VaryMetadata;

/** Headers that describe one transfer or one connection, not the resource: never stored. */
const HOP_BY_HOP = [
  'age',
  'cache-groups',
  'connection',
  'content-length',
  'date',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'set-cookie',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'x-cache',
];

/**
 * Headers that identify one request (tracing and correlation ids, W3C Trace Context, B3, vendor
 * trace headers, timings): replayed on a hit they would mislabel another request. Extend with
 * the `unstoredHeaders` option.
 */
export const PER_REQUEST_HEADERS = [
  'b3',
  'baggage',
  'request-id',
  'sentry-trace',
  'server-timing',
  'traceparent',
  'tracestate',
  'uber-trace-id',
  'x-amzn-requestid',
  'x-amzn-trace-id',
  'x-b3-flags',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-spanid',
  'x-b3-traceid',
  'x-cloud-trace-context',
  'x-correlation-id',
  'x-datadog-parent-id',
  'x-datadog-trace-id',
  'x-request-id',
  'x-response-time',
  'x-span-id',
  'x-trace-id',
];

/** Never stored, whatever the options say. */
const UNSTORED = new Set([...HOP_BY_HOP, ...PER_REQUEST_HEADERS]);

/** Headers a 304 repeats (RFC 9110 15.4.5). */
const NOT_MODIFIED_HEADERS = ['cache-control', 'content-location', 'etag', 'expires', 'vary'];

/**
 * The metadata to store for a captured response: its headers but those of one transfer or one
 * request, those in `unstored` (lower-case) and those upstream middleware set before the route
 * and the route left as they were.
 */
export function responseMetadata(
  response: CapturedResponse,
  ttl: number,
  swr: number,
  sie: number,
  now: number,
  tags: string[],
  unstored: ReadonlySet<string>,
): ResponseMetadata {
  const connectionListed = listTokens(headerValue(response.headers, 'connection'));
  const upstream = response.upstream ?? {};
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || UNSTORED.has(lower) || unstored.has(lower)) continue;
    if (connectionListed.includes(lower) || sameValue(upstream[lower], value)) continue;
    headers[lower] = Array.isArray(value) ? value.map(String) : String(value);
  }
  const etag = headerValue(headers, 'etag') ?? weakEtag(response.body);
  headers.etag = etag;
  const { status } = response;
  return { kind: 'response', status, headers, etag, storedAt: now, ttl, swr, sie, tags };
}

function sameValue(before: unknown, after: unknown): boolean {
  if (before === undefined) return false;
  return String(before) === String(after);
}

/** The stored metadata if it has the shape this version writes, else `undefined`. */
export function parseMetadata(raw: Record<string, unknown>): EntryMetadata | undefined {
  if (raw.kind === 'vary') {
    return Array.isArray(raw.vary) && raw.vary.every((v) => typeof v === 'string')
      ? (raw as VaryMetadata)
      : undefined;
  }
  const ok =
    raw.kind === 'response' &&
    typeof raw.status === 'number' &&
    typeof raw.headers === 'object' &&
    raw.headers !== null &&
    typeof raw.etag === 'string' &&
    typeof raw.storedAt === 'number' &&
    typeof raw.ttl === 'number' &&
    typeof raw.swr === 'number' &&
    typeof raw.sie === 'number' &&
    (raw.tags === undefined ||
      (Array.isArray(raw.tags) && raw.tags.every((t) => typeof t === 'string')));
  return ok ? (raw as ResponseMetadata) : undefined;
}

/** Seconds since the response was stored (never negative across app instances' clocks). */
export function ageOf(metadata: ResponseMetadata, now: number): number {
  return Math.max(0, Math.floor((now - metadata.storedAt) / 1000));
}

/**
 * The response to send for a stored entry: the stored status, headers and bytes, or a bodiless
 * 304 when the request's If-None-Match matches the entry's ETag.
 */
export function replay(
  metadata: ResponseMetadata,
  body: Buffer,
  request: CacheRequest,
  debug: { xCache: string; age: number } | undefined,
): ReplayResponse {
  const notModified = etagMatches(headerValue(request.headers, 'if-none-match'), metadata.etag);
  let headers: Record<string, string | string[]>;
  if (notModified) {
    headers = {};
    for (const name of NOT_MODIFIED_HEADERS) {
      const value = metadata.headers[name];
      if (value !== undefined) headers[name] = value;
    }
  } else {
    headers = { ...metadata.headers, 'content-length': String(body.length) };
  }
  if (debug) {
    headers['x-cache'] = debug.xCache;
    headers.age = String(debug.age);
  }
  return notModified
    ? { status: 304, headers, body: undefined }
    : { status: metadata.status, headers, body };
}

function weakEtag(body: Buffer): string {
  return `W/"${body.length.toString(16)}-${createHash('sha1').update(body).digest('base64url')}"`;
}
