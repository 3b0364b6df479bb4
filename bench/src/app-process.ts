import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CacheStats } from '@restash/core';
import type { StoreName } from './routes.js';

/** The server under test, running in a child process. */
export interface AppProcess {
  /** `http://127.0.0.1:<port>` */
  base: string;
  stats(): Promise<Record<StoreName, CacheStats>>;
  stop(): Promise<void>;
}

const benchDir = fileURLToPath(new URL('..', import.meta.url));
const serverPath = fileURLToPath(new URL('./server.ts', import.meta.url));

/** Forks server.ts for `framework` (run by tsx, with NODE_ENV=production) and waits for its port. */
export async function startApp(framework: string, redisPort: number): Promise<AppProcess> {
  const child = fork(serverPath, [framework, String(redisPort)], {
    cwd: benchDir,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`${framework} server exited (${code})`)));
  });
  const base = `http://127.0.0.1:${port}`;
  return {
    base,
    async stats() {
      const res = await fetch(`${base}/__stats`);
      return (await res.json()) as Record<StoreName, CacheStats>;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
