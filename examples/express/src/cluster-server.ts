import { createServer } from 'node:http';
import {
  checkRedis,
  chooseStore,
  closeOnSignals,
  failStart,
  intFromEnv,
  listen,
  safeUrl,
  stopServer,
} from '@restash/example-shared';
import type { RedisCacheStore } from '@restash/core';
import { createCluster } from './cluster.js';

// `pnpm example:cluster` from the repository root: two instances of the Express catalogue on PORT
// and PORT + 1 (default 3000 and 3001), one Redis (REDIS_URL, default the local one) and one
// database, so a write on one instance is seen to drop what the other cached.

const COMMAND = 'pnpm example:cluster';
const redisUrl = process.env.REDIS_URL || 'redis://localhost:6379';
const portA = intFromEnv('PORT', 3000, 65534);
const dbLatencyMs = intFromEnv('DB_LATENCY_MS', 5);

const problem = await checkRedis(redisUrl);
if (problem) {
  console.error(`${problem}.
The two instances share entries and invalidations through Redis: start one (redis-server, or
docker run -p 6379:6379 redis) or point REDIS_URL at one, e.g. REDIS_URL=redis://host:6379 ${COMMAND}`);
  process.exit(1);
}

// Two stores on one Redis and one key prefix: what two processes would open.
const redisStore = (): RedisCacheStore => {
  const { store } = chooseStore(redisUrl);
  if (!store) throw new Error('unreachable: a Redis URL always gives a Redis store');
  return store;
};
const stores = [redisStore(), redisStore()] as const;
const cluster = createCluster({ stores, dbLatencyMs });
const servers = cluster.instances.map((instance, i) => ({
  server: createServer(instance.app),
  port: portA + i,
}));
const closeAll = async (): Promise<void> => {
  await Promise.all(servers.map(({ server }) => stopServer(server)));
  await cluster.close();
  await Promise.all(stores.map((store) => store.close()));
};
closeOnSignals(closeAll);

try {
  await Promise.all(servers.map(({ server, port }) => listen(server, port, COMMAND)));
} catch (err) {
  await failStart(err, closeAll);
}

const a = `http://localhost:${portA}`;
const b = `http://localhost:${portA + 1}`;
const json = `-H 'Content-Type: application/json'`;
console.log(`restash cluster example: instance A on ${a}, instance B on ${b}
one Redis at ${safeUrl(redisUrl)}; each instance has its own RedisCacheStore (connections, local tier)
one database (the catalogue, shared by both; ${dbLatencyMs} ms per query)

Try (watch Cache-Status, X-Cache and the name):
  curl -i '${b}/api/products/1'      # B: MISS, stored in Redis
  curl -i '${b}/api/products/1'      # B: HIT (from Redis; the next ones from B's local tier)
  curl -i -X PUT '${a}/api/products/1' ${json} -d '{"name":"Renamed on A","category":"books","price":40}'
  curl -i '${b}/api/products/1'      # B: MISS, "Renamed on A": A's write dropped B's entry
  curl -i '${b}/api/products?category=books'   # lists too: tagged 'products', dropped by writes on either
The Host header (port included) is part of the default key, so here A and B cache the same path
apart; behind a load balancer they see one host and share entries as well as invalidations.
Stop with Ctrl-C.`);
