import { createHash } from 'node:crypto';
import http from 'node:http';
import type { HttpCacheOptions, InvalidateOnSpec, RouteOptions } from '@restash/core';
import type { View } from './types';

// Pieces both framework kits use: turning neutral options into options of the framework's
// request type, and starting/stopping the server.

/** Copies `options` with each function among `names` taking the framework's request object. */
function lift<C>(options: unknown, names: readonly string[], view: (context: C) => View): unknown {
  if (options === undefined || options === null || typeof options !== 'object') return options;
  const out: Record<string, unknown> = { ...options };
  for (const name of names) {
    const fn = out[name];
    if (typeof fn === 'function')
      out[name] = (context: C) => (fn as (v: View) => unknown)(view(context));
  }
  return out;
}

/** `createCache` options for the framework. */
export function cacheOptions<C>(
  options: HttpCacheOptions<View> | undefined,
  view: (context: C) => View,
): HttpCacheOptions<C> | undefined {
  return lift(options, ['perUser', 'key'], view) as HttpCacheOptions<C> | undefined;
}

/** `route` options for the framework. */
export function routeOptions<C>(
  options: RouteOptions<View> | string | number | undefined,
  view: (context: C) => View,
): RouteOptions<C> | string | number | undefined {
  return lift(options, ['perUser', 'key', 'tags'], view) as RouteOptions<C> | undefined;
}

/** An `invalidateOn` spec for the framework. */
export function invalidateOnSpec<C>(
  spec: InvalidateOnSpec<View>,
  view: (context: C) => View,
): InvalidateOnSpec<C> {
  return lift(spec, ['keys', 'tags', 'users'], view) as InvalidateOnSpec<C>;
}

/** Matches `/items/:id` style patterns; `undefined` when `path` does not match. */
export function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    if (w.startsWith(':')) params[w.slice(1)] = decodeURIComponent(got[i]!);
    else if (w !== got[i]) return undefined;
  }
  return params;
}

/** The ETag Express gives a body (weak, length + hash), for the Koa kit's conditional replies. */
export function etagOf(body: Buffer): string {
  return `W/"${body.length.toString(16)}-${createHash('sha1').update(body).digest('base64').slice(0, 27)}"`;
}

/** Starts `listener` on 127.0.0.1 and resolves the listening server. */
export async function listen(listener: http.RequestListener): Promise<http.Server> {
  const server = http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** Closes the server and drops keep-alive connections, so jest exits cleanly. */
export async function stopServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
