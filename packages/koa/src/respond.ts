import type { Context } from 'koa';
import { replayAtWrite, type ReplayResponse } from '@restash/core';

/**
 * Answers with a stored response without running downstream middleware. Upstream middleware still
 * runs after `await next()` and sees a Buffer body, but what Koa then writes is replaced by the
 * stored status, headers and bytes (which already are what the chain produced on the miss: an
 * envelope is not applied twice); headers this request's own upstream middleware set stay.
 */
export function respond(ctx: Context, response: ReplayResponse): void {
  ctx.status = response.status;
  // Set before the body, so Koa keeps the stored type instead of typing the Buffer.
  for (const [name, value] of Object.entries(response.headers)) ctx.res.setHeader(name, value);
  ctx.body = response.body ?? null;
  replayAtWrite(ctx.res, response);
}
