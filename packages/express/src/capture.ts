import type { Response } from 'express';
import type { CapturedResponse, Pass, ReplayResponse } from '@restash/core';

type Write = Response['write'];
type End = Response['end'];

/**
 * Watches a passed response: the bytes handed to `res.end` (by `res.send`, `res.json` or
 * directly) are the response; a `res.write` before it means a stream, which is not stored.
 * Calls `pass.finish` once, right before the headers go out, and applies what it returns.
 */
export function capture(res: Response, pass: Pass): void {
  const write = res.write as Write;
  const end = res.end as End;
  let finished = false;
  const finish = (response: CapturedResponse | undefined): ReplayResponse | undefined => {
    finished = true;
    const { removeHeaders, setHeaders = {}, replace } = pass.finish(response);
    if (res.headersSent) return undefined;
    for (const name of removeHeaders) res.removeHeader(name);
    for (const [name, value] of Object.entries(setHeaders)) res.setHeader(name, value);
    return replace;
  };
  res.write = function (this: Response, ...args: unknown[]) {
    if (!finished) finish(undefined);
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as Write;
  res.end = function (this: Response, ...args: unknown[]) {
    if (!finished) {
      res.write = write;
      res.end = end;
      const [chunk, encoding] = args;
      const replace = res.headersSent
        ? finish(undefined)
        : finish({
            status: res.statusCode,
            headers: res.getHeaders(),
            body: toBuffer(chunk, encoding),
          });
      if (replace) return send(res, replace);
    }
    return (end as (...a: unknown[]) => Response).apply(this, args);
  } as End;
  // The client went away before a response: let requests waiting for this one move on.
  res.once('close', () => {
    if (!finished) finish(undefined);
  });
}

/** Writes a stored (or stale) response as is: no serializer runs on a hit. */
export function send(res: Response, response: ReplayResponse): Response {
  res.statusCode = response.status;
  // An error handler may have set its reason phrase; the stored status brings its own.
  res.statusMessage = '';
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  return res.end(response.body);
}

/**
 * Holds the first `write`/`end` of a response until `before` (run at that moment, when the status
 * is final) has settled, so work like an invalidation completes before the client hears back.
 */
export function holdResponse(res: Response, before: () => Promise<void> | undefined): void {
  const write = res.write as Write;
  const end = res.end as End;
  const queued: [(...a: unknown[]) => unknown, unknown[]][] = [];
  let held: Promise<void> | undefined;
  const restore = (): void => {
    res.write = write;
    res.end = end;
  };
  const intercept = (original: (...a: unknown[]) => unknown, reply: (r: Response) => unknown) =>
    function (this: Response, ...args: unknown[]) {
      if (!held) {
        held = before();
        if (!held) {
          restore();
          return original.apply(this, args);
        }
        held
          .then(() => {
            restore();
            for (const [fn, fnArgs] of queued) fn.apply(res, fnArgs);
          })
          .catch((err: unknown) => res.destroy(err as Error));
      }
      queued.push([original, args]);
      return reply(this);
    };
  res.write = intercept(write as (...a: unknown[]) => unknown, () => true) as Write;
  res.end = intercept(end as (...a: unknown[]) => unknown, (r) => r) as End;
}

function toBuffer(chunk: unknown, encoding: unknown): Buffer {
  if (typeof chunk === 'string')
    return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  if (chunk instanceof Uint8Array)
    return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return Buffer.alloc(0);
}
