import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FromServer, Sample, ToServer } from './ipc.js';
import type { Framework, ModeId } from './modes.js';

/** The server under test for one framework, running in a child process. */
export interface AppProcess {
  /** `http://127.0.0.1:<port>` of each mode's app. */
  bases: Partial<Record<ModeId, string>>;
  sample(): Promise<Sample>;
  /** Drops what a mode stored; resolves once the store confirmed. */
  flush(mode: ModeId): Promise<void>;
  stop(): Promise<void>;
}

const benchDir = fileURLToPath(new URL('..', import.meta.url));
const serverPath = fileURLToPath(new URL('./server.ts', import.meta.url));

/** Forks server.ts for `framework` (run by tsx, with NODE_ENV=production) and waits until ready. */
export async function startApp(framework: Framework, redisPort: number): Promise<AppProcess> {
  const child = fork(serverPath, [framework, String(redisPort)], {
    cwd: benchDir,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A send racing the child's exit fails here; the pending reply rejects on 'exit'.
  child.on('error', (err) => console.error(`${framework} server process:`, err.message));
  const ready = await reply(child, 'ready', undefined);
  const bases: Partial<Record<ModeId, string>> = {};
  for (const [mode, port] of Object.entries(ready.ports)) {
    bases[mode as ModeId] = `http://127.0.0.1:${port}`;
  }
  return {
    bases,
    async sample() {
      const { cpuUs, requests, originRuns, inFlight } = await reply(child, 'sample', {
        type: 'sample',
      });
      return { cpuUs, requests, originRuns, inFlight };
    },
    async flush(mode) {
      await reply(child, 'flush', { type: 'flush', mode });
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Sends `request` (if any) and resolves with the child's next message of type `type`. */
function reply<T extends FromServer['type']>(
  child: ChildProcess,
  type: T,
  request: ToServer | undefined,
): Promise<Extract<FromServer, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromServer): void => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message as Extract<FromServer, { type: T }>);
    };
    const onExit = (code: number | null): void => {
      child.off('message', onMessage);
      reject(new Error(`the server process exited (${code}) while the runner waited for ${type}`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    if (!request) return;
    if (!child.connected) return onExit(child.exitCode);
    child.send(request);
  });
}
