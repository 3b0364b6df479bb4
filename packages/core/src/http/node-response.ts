import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Finish, Pass, ReplayResponse, WrittenHead } from './types.js';

// Express and Koa both write through Node's ServerResponse, so that is where the cache watches a
// response go out: after the framework serialised the body, after every middleware had its say,
// and at the moment the head is written (express-session adds Set-Cookie then; Koa middleware
// that runs after `await next()` has finished by then).

type Write = ServerResponse['write'];
type End = ServerResponse['end'];
type Args = unknown[];

/** What the adapter tells a {@link capture} when the handler threw. */
export interface Capture {
  /**
   * `pass.fail` was called instead of `finish`: write `replacement` (a stale copy) instead of the
   * error response that follows, or let the error response through untouched.
   */
  failed(replacement: Finish | undefined): void;
}

/**
 * Watches a passed response: the bytes handed to `res.end` are the response; a `res.write`
 * before it means a stream, which is not stored; a close before either means nothing was sent.
 * Calls `pass.finish` exactly once, right before the head goes out, applies what it returns, then
 * reports the head as written. `upstream` are the headers set before the route ran.
 */
export function capture(res: ServerResponse, pass: Pass, upstream: OutgoingHttpHeaders): Capture {
  const write = res.write as Write;
  const end = res.end as End;
  let open = true;
  let replacement: Finish | undefined;
  const restore = (): void => {
    res.write = write;
    res.end = end;
  };
  const finish = (body: Buffer | undefined): Finish => {
    open = false;
    if (body === undefined || res.headersSent) return pass.finish(undefined);
    const headers = res.getHeaders();
    return pass.finish({ status: res.statusCode, headers, body, upstream });
  };
  res.write = function (this: ServerResponse, ...args: Args) {
    restore();
    // A stream: not stored, but its head still gets what the cache adds (Cache-Status).
    if (open) setHeaders(res, finish(undefined));
    return (write as (...a: Args) => boolean).apply(this, args);
  } as Write;
  res.end = function (this: ServerResponse, ...args: Args) {
    restore();
    if (replacement) return writeFinish(res, end, replacement, args);
    if (!open) return (end as (...a: Args) => ServerResponse).apply(this, args);
    const [chunk, encoding, ...rest] = args;
    const body = toBuffer(chunk, encoding);
    // Sent as bytes: Node writes a string body in one piece with the head, encoding both as
    // UTF-8, which would mangle header bytes outside ASCII (RFC 9110 obs-text, e.g. in an ETag).
    const callback = typeof encoding === 'function' ? [encoding] : rest;
    return writeFinish(res, end, finish(body), chunk === undefined ? args : [body, ...callback]);
  } as End;
  // The client went away before a response: let requests waiting for this one move on.
  res.once('close', () => {
    if (open) finish(undefined);
  });
  return {
    failed(stale) {
      if (!open) return;
      open = false;
      if (stale) replacement = stale;
      else restore();
    },
  };
}

/**
 * Writes a stored (or stale) response as is: no serializer runs on a hit. Headers the response
 * already carries stay unless the stored ones replace them (a hit keeps what this request's own
 * upstream middleware set: its session cookie, its trace id, its CORS headers).
 */
export function writeReplay(res: ServerResponse, response: ReplayResponse): ServerResponse {
  return writeFinish(res, res.end as End, { removeHeaders: [], replace: response }, []);
}

/**
 * Answers with `response` when the framework writes the response (Koa, after its middleware
 * chain): the body and headers the chain produced for it are replaced by the stored ones, unless
 * something changed the status meanwhile (an error response goes through).
 */
export function replayAtWrite(res: ServerResponse, response: ReplayResponse): void {
  const write = res.write as Write;
  const end = res.end as End;
  const restore = (): void => {
    res.write = write;
    res.end = end;
  };
  res.write = function (this: ServerResponse, ...args: Args) {
    restore();
    return (write as (...a: Args) => boolean).apply(this, args);
  } as Write;
  res.end = function (this: ServerResponse, ...args: Args) {
    restore();
    if (res.headersSent || res.statusCode !== response.status) {
      return (end as (...a: Args) => ServerResponse).apply(this, args);
    }
    const headers = response.headers;
    // The chain typed its stand-in body; the stored response may have had no type at all.
    if (headers['content-type'] === undefined) res.removeHeader('content-type');
    return writeFinish(res, end, { removeHeaders: [], replace: response }, args);
  } as End;
}

/** Applies `finish` and writes: its replacement, or the call the app made (`args`). */
function writeFinish(res: ServerResponse, end: End, finish: Finish, args: Args): ServerResponse {
  const { replace, written } = finish;
  let head: WrittenHead | undefined;
  try {
    setHeaders(res, finish);
    let result: ServerResponse;
    if (replace && !res.headersSent) {
      res.statusCode = replace.status;
      // An error handler may have set its reason phrase; the stored status brings its own.
      res.statusMessage = '';
      for (const [name, value] of Object.entries(replace.headers)) {
        // Koa hits set them once already; setHeader validates every value it gets.
        if (res.getHeader(name) !== value) res.setHeader(name, value);
      }
      result = (end as (chunk?: unknown) => ServerResponse).call(res, replace.body);
    } else {
      result = (end as (...a: Args) => ServerResponse).apply(res, args);
    }
    if (written && res.headersSent) head = { status: res.statusCode, headers: res.getHeaders() };
    return result;
  } finally {
    written?.(head);
  }
}

/** Applies the header changes of `finish`, unless the head went out already. */
function setHeaders(res: ServerResponse, { removeHeaders, setHeaders = {} }: Finish): void {
  if (res.headersSent) return;
  for (const name of removeHeaders) res.removeHeader(name);
  for (const [name, value] of Object.entries(setHeaders)) res.setHeader(name, value);
}

function toBuffer(chunk: unknown, encoding: unknown): Buffer {
  if (typeof chunk === 'string')
    return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  if (chunk instanceof Uint8Array)
    return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return Buffer.alloc(0);
}
