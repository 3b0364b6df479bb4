import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

// Spawning and reaping redis-server processes. Every child is registered twice: in this process
// (killed on exit) and as a pid file in RESTASH_TEST_RUN_DIR, which global teardown sweeps, so no
// server outlives the run even when a jest worker crashes.

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** The redis-server binary to use, or `undefined` when there is none. */
export function redisServerBinary(): string | undefined {
  const candidate = process.env.REDIS_SERVER_BIN ?? 'redis-server';
  const probe = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? candidate : undefined;
}

/** A port nothing listens on; with `withBus`, port + 10000 is free too (Redis Cluster's bus). */
export async function freePort(withBus = false): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = withBus ? 20000 + Math.floor(Math.random() * 10000) : await ephemeralPort();
    if ((await canBind(port)) && (!withBus || (await canBind(port + 10000)))) return port;
  }
  throw new Error('no free port found');
}

/** A running redis-server child. */
export class ServerProcess {
  readonly #binary: string;
  readonly #args: string[];
  readonly dir: string;
  #child: ChildProcess | undefined;
  #output = '';

  /**
   * `config`, when given, is written to a file in the server's directory and passed first: a
   * sentinel needs a config file it can rewrite.
   */
  constructor(
    binary: string,
    readonly port: number,
    args: string[],
    config?: string,
  ) {
    this.#binary = binary;
    this.dir = mkdtempSync(path.join(os.tmpdir(), `restash-redis-${port}-`));
    const file = path.join(this.dir, 'redis.conf');
    if (config !== undefined) writeFileSync(file, config);
    this.#args = [
      ...(config !== undefined ? [file] : []),
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'no',
      '--dir',
      this.dir,
      ...args,
    ];
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Starts the server and resolves once it answers PING. */
  async start(): Promise<void> {
    const child = spawn(this.#binary, this.#args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    children.add(child);
    recordPid(child.pid);
    const keep = (chunk: Buffer): void => {
      this.#output = (this.#output + chunk.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', () => {
      children.delete(child);
      forgetPid(child.pid);
      if (this.#child === child) this.#child = undefined;
    });
    const deadline = performance.now() + 10_000;
    while (!(await answersPing(this.port))) {
      if (!this.#child || performance.now() > deadline) {
        const output = this.#output;
        await this.kill();
        throw new Error(`redis-server on port ${this.port} did not start:\n${output}`);
      }
      await sleep(20);
    }
  }

  /** SIGKILL, resolved once the process exited and the port refuses connections. */
  async kill(): Promise<void> {
    await this.#terminate('SIGKILL');
  }

  /** SIGTERM (a clean shutdown; nothing is saved), resolved once it exited. */
  async stop(): Promise<void> {
    await this.#terminate('SIGTERM');
  }

  removeDir(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  async #terminate(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
    while (await answersPing(this.port)) await sleep(20);
  }
}

async function ephemeralPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Whether something on `port` answers a RESP PING with +PONG (or an auth error: it is up). */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (up: boolean): void => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(/^(\+PONG|-NOAUTH)/.test(data.toString())));
  });
}

function recordPid(pid: number | undefined): void {
  const dir = process.env.RESTASH_TEST_RUN_DIR;
  if (!dir || pid === undefined) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${pid}.pid`), String(pid));
}

function forgetPid(pid: number | undefined): void {
  const dir = process.env.RESTASH_TEST_RUN_DIR;
  if (!dir || pid === undefined) return;
  rmSync(path.join(dir, `${pid}.pid`), { force: true });
}
