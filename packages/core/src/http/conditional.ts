import { headerValue } from './headers.js';
import type { ResponseMetadata } from './entry.js';
import type { CacheRequest } from './types.js';

/** Whether a GET or HEAD carries validators, so a stored response may answer it with a 304. */
export function isConditional(request: CacheRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const { headers } = request;
  return headers['if-none-match'] !== undefined || headers['if-modified-since'] !== undefined;
}

/**
 * Whether a GET or HEAD for a stored response may be answered 304 (RFC 9110 13.2.2):
 * If-None-Match decides when present (weak comparison); otherwise If-Modified-Since against the
 * stored Last-Modified.
 */
export function notModified(request: CacheRequest, metadata: ResponseMetadata): boolean {
  const ifNoneMatch = headerValue(request.headers, 'if-none-match');
  if (ifNoneMatch !== undefined) return etagMatches(ifNoneMatch, metadata.etag);
  // RFC 9110 13.1.3: an invalid date, or a Last-Modified we do not know, means no 304.
  const since = httpDate(headerValue(request.headers, 'if-modified-since'));
  const modified = httpDate(headerValue(metadata.headers, 'last-modified'));
  return since !== undefined && modified !== undefined && modified <= since;
}

/** Whether an If-None-Match value matches `etag` (weak comparison, RFC 9110 13.1.2). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const opaque = (tag: string): string => tag.trim().replace(/^W\//, '');
  const ours = opaque(etag);
  return ifNoneMatch.split(',').some((tag) => opaque(tag) === ours);
}

/** The three forms of HTTP-date (RFC 9110 5.6.7): IMF-fixdate, RFC 850 and asctime. */
const HTTP_DATE = [
  /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/,
  /^[A-Z][a-z]+, \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT$/,
  /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/,
];

/** An HTTP-date in ms, or `undefined` if `value` is not one. */
export function httpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (!HTTP_DATE.some((form) => form.test(trimmed))) return undefined;
  const ms = Date.parse(/GMT$/.test(trimmed) ? trimmed : `${trimmed} GMT`);
  return Number.isNaN(ms) ? undefined : ms;
}
