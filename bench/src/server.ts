import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expressApp } from './express-app.js';
import { koaApp } from './koa-app.js';
import { createStores } from './routes.js';

// The server under test, run as a child process of the runner so that the load generator and
// the app do not share an event loop. Usage: server.ts <express|koa> <redis port>.
// Reports { port } over IPC once listening; closes everything on SIGTERM or when the runner goes.

const [framework, redisPortArg] = process.argv.slice(2);
if ((framework !== 'express' && framework !== 'koa') || !redisPortArg) {
  throw new Error('usage: server.ts <express|koa> <redis port>');
}
const stores = createStores(Number(redisPortArg), `bench-${framework}`);
const app = framework === 'express' ? expressApp(stores) : koaApp(stores);
const server = createServer(app.listener);
server.keepAliveTimeout = 30_000;

server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});

let closing = false;
async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await app.close();
  await Promise.all(Object.values(stores).map((store) => store.close()));
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown());
process.once('disconnect', () => void shutdown());
