import { headerValue } from './headers.js';
import type { ResponseMetadata } from './entry.js';
import { notModified } from './conditional.js';
import type { CacheRequest, ReplayResponse } from './types.js';

/** Headers a 304 carries from the stored response (RFC 9110 15.4.5). */
const NOT_MODIFIED_HEADERS = [
  'cache-control',
  'content-location',
  'date',
  'etag',
  'expires',
  'vary',
];

/**
 * The current age of a stored response in seconds (RFC 9111 4.2.3): the age it had when stored —
 * its own `Age`, or how old its `Date` was, whichever is more — plus the time since.
 */
export function ageOf(metadata: ResponseMetadata, now: number): number {
  let initial = INITIAL_AGE.get(metadata);
  if (initial === undefined) {
    const date = Date.parse(headerValue(metadata.headers, 'date') ?? '');
    const apparent = Number.isNaN(date) ? 0 : Math.max(0, (metadata.storedAt - date) / 1000);
    initial = Math.max(apparent, metadata.age ?? 0);
    INITIAL_AGE.set(metadata, initial);
  }
  return Math.max(0, Math.floor(initial + (now - metadata.storedAt) / 1000));
}

/** The age each stored response had when stored: a local copy is the same object every hit. */
const INITIAL_AGE = new WeakMap<ResponseMetadata, number>();

/**
 * The response to send for a stored entry: the stored status, headers and bytes, or a bodiless
 * 304 when the request's validators say the client has it already.
 */
export function replay(
  metadata: ResponseMetadata,
  body: Buffer,
  request: CacheRequest,
  debug: { xCache: string; age: number } | undefined,
): ReplayResponse {
  const unchanged = notModified(request, metadata);
  let headers: Record<string, string | string[]>;
  if (unchanged) {
    headers = {};
    for (const name of NOT_MODIFIED_HEADERS) {
      const value = metadata.headers[name];
      if (value !== undefined) headers[name] = value;
    }
  } else {
    headers = Object.assign({}, metadata.headers, { 'content-length': String(body.length) });
  }
  if (debug) {
    headers['x-cache'] = debug.xCache;
    headers.age = String(debug.age);
  }
  return unchanged
    ? { status: 304, headers, body: undefined }
    : { status: metadata.status, headers, body };
}
