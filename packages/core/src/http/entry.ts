import { createHash } from 'node:crypto';
import { headerValue, listTokens } from './headers.js';
import type { CapturedResponse } from './types.js';

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
  /** Seconds of `Age` the response already had when it was stored (RFC 9111 4.2.3). */
  age?: number;
  /** The ETag is the cache's (a hash of the body), not the origin's: not a validator for it. */
  generatedEtag?: true;
  /** Revalidated with the origin once expired (a `freshness: 'headers'` route). */
  revalidate?: true;
};

/**
 * Metadata of a Vary marker: the request headers the route's responses vary on. It also holds the
 * first variant seen (its key and metadata; its body is the entry's value), so the first response
 * of a varying route is stored like any other.
 */
export type VaryMetadata = {
  kind: 'vary';
  vary: string[];
  variant?: string;
  response?: ResponseMetadata;
};

export type EntryMetadata = ResponseMetadata | VaryMetadata;

/** Headers that describe one transfer or one connection, not the resource: never stored. */
const HOP_BY_HOP = [
  'age',
  'cache-groups',
  'connection',
  'content-length',
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
  const ownEtag = headerValue(headers, 'etag');
  const etag = ownEtag ?? weakEtag(response.body);
  headers.etag = etag;
  // A cache keeps the Date the response had (RFC 9111 4.2.3); the adapter sends this one.
  headers.date ??= new Date(now).toUTCString();
  const { status } = response;
  const metadata: ResponseMetadata = {
    kind: 'response',
    status,
    headers,
    etag,
    storedAt: now,
    ttl,
    swr,
    sie,
    tags,
  };
  const age = /^\d+$/.exec(headerValue(response.headers, 'age')?.trim() ?? '');
  if (age) metadata.age = Number(age[0]);
  if (ownEtag === undefined) metadata.generatedEtag = true;
  return metadata;
}

function sameValue(before: unknown, after: unknown): boolean {
  if (before === undefined) return false;
  return String(before) === String(after);
}

/** The stored metadata if it has the shape this version writes, else `undefined`. */
export function parseMetadata(raw: Record<string, unknown>): EntryMetadata | undefined {
  if (raw.kind === 'vary') {
    const ok =
      Array.isArray(raw.vary) &&
      raw.vary.every((v) => typeof v === 'string') &&
      (raw.variant === undefined || typeof raw.variant === 'string') &&
      (raw.response === undefined ||
        parseMetadata(raw.response as Record<string, unknown>)?.kind === 'response');
    return ok ? (raw as VaryMetadata) : undefined;
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
    (raw.age === undefined || typeof raw.age === 'number') &&
    (raw.generatedEtag === undefined || raw.generatedEtag === true) &&
    (raw.revalidate === undefined || raw.revalidate === true) &&
    (raw.tags === undefined ||
      (Array.isArray(raw.tags) && raw.tags.every((t) => typeof t === 'string')));
  return ok ? (raw as ResponseMetadata) : undefined;
}

function weakEtag(body: Buffer): string {
  return `W/"${body.length.toString(16)}-${createHash('sha1').update(body).digest('base64url')}"`;
}
