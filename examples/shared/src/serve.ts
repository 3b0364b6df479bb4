import { createServer, type RequestListener } from 'node:http';
import type { CacheStore } from '@restash/core';
import { chooseStore } from './store.js';

/** What an example's `createApp` gives {@link serve}. */
export interface ServedApp {
  /** The framework's request handler (Express: the app; Koa: `app.callback()`). */
  listener: RequestListener;
  /** Closes the cache; the store is closed by `serve`. */
  close(): Promise<void>;
}

/**
 * Starts an example on PORT (default 3000) with the store REDIS_URL asks for, prints curl lines
 * to try, and closes cleanly on SIGINT/SIGTERM: requests in flight finish, then the cache and the
 * store close.
 */
export function serve(
  framework: string,
  createApp: (options: { store?: CacheStore; dbLatencyMs: number }) => ServedApp,
): void {
  const port = Number(process.env.PORT ?? 3000);
  const dbLatencyMs = Number(process.env.DB_LATENCY_MS ?? 5);
  const { store, description } = chooseStore(process.env.REDIS_URL);
  const { listener, close } = createApp({ ...(store ? { store } : {}), dbLatencyMs });
  const server = createServer(listener);

  let stopping = false;
  const shutdown = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    // Keep-alive clients may hold sockets open: give up on them after a few seconds.
    setTimeout(() => process.exit(code || 1), 5000).unref();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    await close();
    await store?.close();
    process.exitCode = code;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.log(`\n${signal}: closing`);
      void shutdown(0);
    });
  }

  server.once('error', (err) => {
    console.error(`cannot listen on port ${port}: ${err.message}`);
    void shutdown(1);
  });
  server.listen(port, () => {
    const base = `http://localhost:${port}`;
    const json = `-H 'Content-Type: application/json'`;
    console.log(`restash example (${framework}) listening on ${base}
cache store: ${description}
database latency: ${dbLatencyMs} ms per query

Try (watch X-Cache and servedAt):
  curl -i ${base}/api/products?category=books     # X-Cache: MISS
  curl -i ${base}/api/products?category=books     # X-Cache: HIT, same servedAt
  curl -i -X PUT ${base}/api/products/1 ${json} -d '{"name":"The Pragmatic Programmer, 2nd ed.","category":"books","price":45}'
  curl -i ${base}/api/products?category=books     # X-Cache: MISS again, new name
  curl -i ${base}/api/products/2                  # a product: MISS, then HIT
  curl -i ${base}/api/me -H 'Authorization: Bearer alice'   # per user: alice never sees bob's
Stop with Ctrl-C.`);
  });
}
