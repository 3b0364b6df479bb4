import { createApp } from './app.js';
import { chooseStore } from './store.js';

// Starts the example on PORT (default 3000): `pnpm example:koa` from the repository root.

const port = Number(process.env.PORT ?? 3000);
const dbLatencyMs = Number(process.env.DB_LATENCY_MS ?? 5);
const { store, description } = chooseStore(process.env.REDIS_URL);
const { app, close } = createApp({ ...(store ? { store } : {}), dbLatencyMs });

const server = app.listen(port, () => {
  const base = `http://localhost:${port}`;
  const json = `-H 'Content-Type: application/json'`;
  console.log(`restash example (Koa) listening on ${base}
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
server.once('error', (err) => {
  console.error(`cannot listen on port ${port}: ${err.message}`);
  void shutdown(1);
});

let stopping = false;

/** Stops taking requests, lets the ones in flight finish, then closes the cache and the store. */
async function shutdown(code: number): Promise<void> {
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
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log(`\n${signal}: closing`);
    void shutdown(0);
  });
}
