import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyHit, type Answers } from './ceiling.js';
import { expressApp, type ModeApp } from './express-app.js';
import type { FromServer, ToServer } from './ipc.js';
import { isKoaMode, koaApp } from './koa-app.js';
import type { AppDeps } from './layer.js';
import { FRAMEWORKS, modesOf, type Framework, type ModeId } from './modes.js';
import { createOrigin } from './origin.js';
import { SIZES } from './sizes.js';

// The server under test, a child process of the runner so that the load generator does not share
// its event loop or its CPU time. Usage: server.ts <express|koa> <redis port>. Serves every mode
// of the framework on a port of its own, copies the ceiling's answers from restash hits, reports
// { ports } over IPC, then answers the runner's samples; closes everything on SIGTERM or when the
// runner goes away.

const [frameworkArg, redisPortArg] = process.argv.slice(2);
if (!FRAMEWORKS.includes(frameworkArg as Framework) || !redisPortArg) {
  throw new Error('usage: server.ts <express|koa> <redis port>');
}
const framework = frameworkArg as Framework;
const origin = createOrigin();
const ceiling: Answers = new Map();
const deps: AppDeps = { framework, redisPort: Number(redisPortArg), origin, ceiling };

let requests = 0;
let inFlight = 0;
const apps = new Map<ModeId, ModeApp>();
const servers: Server[] = [];
const ports: Partial<Record<ModeId, number>> = {};
for (const mode of modesOf(framework)) {
  const app =
    framework === 'express'
      ? expressApp(mode.id, deps)
      : isKoaMode(mode.id)
        ? koaApp(mode.id, deps)
        : undefined;
  if (!app) continue;
  const server = createServer(app.listener);
  server.keepAliveTimeout = 30_000;
  server.on('request', (_req, res) => {
    requests++;
    inFlight++;
    res.once('close', () => inFlight--);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  apps.set(mode.id, app);
  servers.push(server);
  ports[mode.id] = (server.address() as AddressInfo).port;
}
for (const size of SIZES) {
  ceiling.set(size.id, await copyHit(`http://127.0.0.1:${ports.local}/products/${size.id}`));
}

function send(message: FromServer): void {
  process.send?.(message);
}

process.on('message', (message: ToServer) => {
  if (message.type === 'sample') {
    const { user, system } = process.cpuUsage();
    send({ type: 'sample', cpuUs: user + system, requests, originRuns: origin.runs, inFlight });
  } else if (message.type === 'flush') {
    void (apps.get(message.mode)?.flush?.() ?? Promise.resolve()).then(() =>
      send({ type: 'flush' }),
    );
  }
});
send({ type: 'ready', ports });

let closing = false;
async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  await Promise.all([...apps.values()].map((app) => app.close()));
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown());
process.once('disconnect', () => void shutdown());
