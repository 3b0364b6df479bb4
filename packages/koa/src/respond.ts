import { Stream } from 'node:stream';
import type { Context } from 'koa';
import type { CapturedResponse, ReplayResponse } from '@restash/core';

/**
 * The response downstream middleware left in `ctx`, as the bytes Koa will send: objects become
 * their JSON (and `ctx.body` the same bytes, so what is stored is what is sent). Streams are not
 * captured.
 */
export function captureBody(ctx: Context): CapturedResponse | undefined {
  const { body } = ctx;
  let bytes: Buffer;
  if (body === null || body === undefined) bytes = Buffer.alloc(0);
  else if (Buffer.isBuffer(body)) bytes = body;
  else if (typeof body === 'string') bytes = Buffer.from(body);
  else if (body instanceof Stream || isWebStream(body)) return undefined;
  else {
    bytes = Buffer.from(JSON.stringify(body));
    ctx.body = bytes;
  }
  return { status: ctx.status, headers: ctx.response.headers, body: bytes };
}

/** Answers with a stored (or stale) response as is; downstream middleware does not run. */
export function respond(ctx: Context, response: ReplayResponse): void {
  ctx.status = response.status;
  for (const [name, value] of Object.entries(response.headers)) ctx.set(name, value);
  ctx.body = response.body ?? null;
  // Koa drops Content-Length when the body is set to null; a 304 keeps none anyway.
}

function isWebStream(body: unknown): boolean {
  return typeof ReadableStream !== 'undefined' && body instanceof ReadableStream;
}
