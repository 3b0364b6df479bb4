import { Stream } from 'node:stream';
import type { Context } from 'koa';
import type { CapturedResponse, Finish, ReplayResponse } from '@restash/core';

/**
 * The response downstream middleware left in `ctx`, as the bytes Koa will send: objects become
 * their JSON (and `ctx.body` the same bytes, so what is stored is what is sent). Streamed bodies
 * (streams, Blob, Response) and bodies Koa fills in itself (none set) are not captured.
 */
export function captureBody(ctx: Context): CapturedResponse | undefined {
  const body: unknown = ctx.body;
  let bytes: Buffer;
  if (body === null || body === undefined) {
    // Koa sends its status message for an unset body; only a bodiless status has nothing to add.
    if (ctx.status !== 204 && ctx.status !== 205) return undefined;
    bytes = Buffer.alloc(0);
  } else if (Buffer.isBuffer(body)) bytes = body;
  else if (typeof body === 'string') bytes = Buffer.from(body);
  else if (isStreamed(body)) return undefined;
  else {
    bytes = Buffer.from(JSON.stringify(body));
    ctx.body = bytes;
  }
  return { status: ctx.status, headers: ctx.response.headers, body: bytes };
}

/** Applies what the engine decided about a passed response. */
export function applyFinish(ctx: Context, finish: Finish): void {
  for (const name of finish.removeHeaders) ctx.remove(name);
  for (const [name, value] of Object.entries(finish.setHeaders ?? {})) ctx.set(name, value);
  if (finish.replace) respond(ctx, finish.replace);
}

/** Answers with a stored (or stale) response as is; downstream middleware does not run. */
export function respond(ctx: Context, response: ReplayResponse): void {
  ctx.status = response.status;
  for (const [name, value] of Object.entries(response.headers)) ctx.set(name, value);
  // A Buffer body is written as is: Koa's JSON serializer does not run on a hit.
  ctx.body = response.body ?? null;
  // Koa types a Buffer body as octet-stream; the stored response may have had no type at all.
  if (response.headers['content-type'] === undefined) ctx.remove('Content-Type');
}

function isStreamed(body: unknown): boolean {
  return (
    body instanceof Stream ||
    (typeof ReadableStream !== 'undefined' && body instanceof ReadableStream) ||
    (typeof Blob !== 'undefined' && body instanceof Blob) ||
    (typeof Response !== 'undefined' && body instanceof Response)
  );
}
