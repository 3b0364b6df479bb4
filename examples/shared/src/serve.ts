import { createServer, type RequestListener } from 'node:http';
import type { CacheStore } from '@restash/core';
import { closeOnSignals, failStart, intFromEnv, listen, stopServer } from './lifecycle.js';
import { chooseStore } from './store.js';

/** What an example's `createApp` gives {@link serve}. */
export interface ServedApp {
  /** The framework's request handler (Express: the app; Koa: `app.callback()`). */
  listener: RequestListener;
  /** Closes the cache; the store is closed by `serve`. */
  close(): Promise<void>;
}

/** Which example {@link serve} runs, for what it prints. */
export interface ServedExample {
  framework: string;
  /** The command that starts it, e.g. `pnpm example`. */
  command: string;
}

/**
 * Starts an example on PORT (default 3000) with the store REDIS_URL asks for, prints curl lines
 * to try, and closes cleanly on SIGINT/SIGTERM: requests in flight finish, then the cache and the
 * store close.
 */
export function serve(
  example: ServedExample,
  createApp: (options: { store?: CacheStore; dbLatencyMs: number }) => ServedApp,
): void {
  const port = intFromEnv('PORT', 3000, 65535);
  const dbLatencyMs = intFromEnv('DB_LATENCY_MS', 5);
  const { store, description } = chooseStore(process.env.REDIS_URL);
  const { listener, close } = createApp({ ...(store ? { store } : {}), dbLatencyMs });
  const server = createServer(listener);
  const closeAll = async (): Promise<void> => {
    await stopServer(server);
    await close();
    await store?.close();
  };
  closeOnSignals(closeAll);
  void listen(server, port, example.command).then(
    () => console.log(instructions(example.framework, port, description, dbLatencyMs)),
    (err: unknown) => failStart(err, closeAll),
  );
}

function instructions(framework: string, port: number, store: string, latency: number): string {
  const base = `http://localhost:${port}`;
  const json = `-H 'Content-Type: application/json'`;
  // URLs in quotes: zsh would take `?` for a glob and refuse the command.
  return `restash example (${framework}) listening on ${base}
cache store: ${store}
database latency: ${latency} ms per query

Try (watch Cache-Status, X-Cache and servedAt):
  curl -i '${base}/api/products?category=books'     # X-Cache: MISS
  curl -i '${base}/api/products?category=books'     # X-Cache: HIT, same servedAt
  curl -i -X PUT '${base}/api/products/1' ${json} -d '{"name":"The Pragmatic Programmer, 2nd ed.","category":"books","price":45}'
  curl -i '${base}/api/products?category=books'     # X-Cache: MISS again, new name
  curl -i '${base}/api/products/2'                  # a product: MISS, then HIT
  curl -i '${base}/api/me' -H 'Authorization: Bearer alice'   # per user: alice never sees bob's
  curl -s '${base}/metrics'                         # Prometheus metrics (restash_*)
Stop with Ctrl-C.`;
}
