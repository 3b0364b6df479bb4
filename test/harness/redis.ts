import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort, redisServerBinary, ServerProcess } from './processes';

/** A Redis server for one test file. */
export interface RedisHandle {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** `false` for the REDIS_URL server: the harness may not flush, kill or reconfigure it. */
  readonly owned: boolean;
  /** Unique per handle: put it in ioredis `keyPrefix` so a shared server stays isolated. */
  readonly keyPrefix: string;
  /** Connection options (host, port and REDIS_URL's credentials) plus `extra`. */
  options(extra?: RedisOptions): RedisOptions;
  /** A raw connection (no keyPrefix) for assertions; closed by `stop()`. */
  admin(): Redis;
  /** Owned: FLUSHALL. Shared: removes only keys under `keyPrefix`. */
  flush(): Promise<void>;
  /** INFO commandstats as command name (e.g. `evalsha`, `client|caching`) → calls. */
  commandStats(): Promise<Record<string, number>>;
  /** CONFIG RESETSTAT. */
  resetStats(): Promise<void>;
  /**
   * Starts recording the commands clients send (MONITOR). Commands run by scripts are not round
   * trips and are left out, unless `scripts` asks for them too.
   */
  monitor(options?: { scripts?: boolean }): Promise<CommandLog>;
  /** SIGKILL the server; resolves once it is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port after `kill()`, empty. */
  restart(): Promise<void>;
  /** Shuts the server down (owned) and closes `admin()`. Idempotent. */
  stop(): Promise<void>;
}

/** Commands clients sent, as recorded by MONITOR. */
export interface CommandLog {
  /** Everything recorded so far (lower-cased command name first), once the server caught up. */
  commands(): Promise<string[][]>;
  stop(): Promise<void>;
}

const NO_REDIS =
  'No Redis for the tests: install redis-server (Debian/Ubuntu: apt-get install redis-server; ' +
  'macOS: brew install redis), or start Docker for testcontainers, or set ' +
  'REDIS_URL=redis://host:port to use an existing server.';

/**
 * A Redis for a test file: REDIS_URL's server when set (unless `owned`, for tests that kill,
 * pause or count commands), else a throwaway `redis-server` on a free port, else a testcontainers
 * container.
 */
export async function startRedis(
  opts: { owned?: boolean; args?: string[] } = {},
): Promise<RedisHandle> {
  const url = process.env.REDIS_URL;
  if (url && !opts.owned) return sharedHandle(url);
  const binary = redisServerBinary();
  if (binary) {
    const server = new ServerProcess(binary, await freePort(), opts.args ?? []);
    await server.start();
    return ownedHandle('127.0.0.1', server.port, {
      kill: () => server.kill(),
      restart: () => server.start(),
      stop: async () => {
        await server.stop();
        server.removeDir();
      },
    });
  }
  return containerHandle(opts.args ?? []);
}

interface Lifecycle {
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function baseHandle(
  host: string,
  port: number,
  owned: boolean,
  credentials: RedisOptions,
): RedisHandle & { close(): Promise<void> } {
  let admin: Redis | undefined;
  const keyPrefix = `rt${randomBytes(4).toString('hex')}:`;
  const options = (extra: RedisOptions = {}): RedisOptions => ({
    host,
    port,
    ...credentials,
    ...extra,
  });
  const getAdmin = (): Redis =>
    (admin ??= new Redis(options({ maxRetriesPerRequest: 1, retryStrategy: () => 50 })));
  const requireOwned = (what: string): void => {
    if (!owned)
      throw new Error(
        `${what} needs a Redis the harness controls; this test cannot run against REDIS_URL`,
      );
  };
  return {
    host,
    port,
    url: `redis://${host}:${port}`,
    owned,
    keyPrefix,
    options,
    admin: getAdmin,
    async flush() {
      if (owned) {
        await getAdmin().flushall();
        return;
      }
      const stream = getAdmin().scanStream({ match: `${keyPrefix}*`, count: 500 });
      for await (const keys of stream as AsyncIterable<string[]>)
        if (keys.length) await getAdmin().unlink(...keys);
    },
    async commandStats() {
      requireOwned('commandStats()');
      const info = await getAdmin().info('commandstats');
      const stats: Record<string, number> = {};
      for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
        stats[match[1]!] = Number(match[2]);
      return stats;
    },
    async resetStats() {
      requireOwned('resetStats()');
      await getAdmin().config('RESETSTAT');
    },
    async monitor({ scripts = false } = {}) {
      requireOwned('monitor()');
      // monitor() opens a connection of its own; the duplicate it is called on never connects.
      const source = getAdmin().duplicate({ lazyConnect: true });
      const monitor = await source.monitor();
      const seen: string[][] = [];
      monitor.on('monitor', (_time: string, args: string[], source: string) => {
        if (scripts || source !== 'lua') seen.push([args[0]!.toLowerCase(), ...args.slice(1)]);
      });
      return {
        async commands() {
          // MONITOR reports in execution order: once our marker shows up, all before it did too.
          const marker = `restash-monitor-${randomBytes(4).toString('hex')}`;
          await getAdmin().echo(marker);
          while (!seen.some(([name, arg]) => name === 'echo' && arg === marker)) await sleep(5);
          return seen.filter(
            ([name, arg]) => !(name === 'echo' && arg?.startsWith('restash-monitor-')),
          );
        },
        async stop() {
          monitor.disconnect();
          source.disconnect();
        },
      };
    },
    async kill() {
      requireOwned('kill()');
    },
    async restart() {
      requireOwned('restart()');
    },
    async stop() {
      await this.close();
    },
    async close() {
      const conn = admin;
      admin = undefined;
      conn?.disconnect();
    },
  };
}

function ownedHandle(
  host: string,
  port: number,
  lifecycle: Lifecycle,
  credentials: RedisOptions = {},
): RedisHandle {
  const handle = baseHandle(host, port, true, credentials);
  let stopped = false;
  return {
    ...handle,
    kill: () => lifecycle.kill(),
    restart: () => lifecycle.restart(),
    async stop() {
      if (stopped) return;
      stopped = true;
      await handle.close();
      await lifecycle.stop();
    },
  };
}

function sharedHandle(url: string): RedisHandle {
  const parsed = new URL(url);
  const credentials: RedisOptions = {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.pathname.length > 1 ? { db: Number(parsed.pathname.slice(1)) } : {}),
  };
  const handle = baseHandle(parsed.hostname, Number(parsed.port || 6379), false, credentials);
  let stopped = false;
  return {
    ...handle,
    async stop() {
      if (stopped) return;
      stopped = true;
      await handle.flush();
      await handle.close();
    },
  };
}

/**
 * The Docker fallback. Not exercised where the suite is developed (no Docker engine there): it
 * starts `redis:7-alpine` with the same arguments and maps kill/restart onto the container.
 */
async function containerHandle(args: string[]): Promise<RedisHandle> {
  let container: {
    getHost(): string;
    getMappedPort(port: number): number;
    stop(): Promise<unknown>;
    restart(): Promise<void>;
  };
  try {
    const { GenericContainer } = await import('testcontainers');
    container = await new GenericContainer('redis:7-alpine')
      .withCommand(['redis-server', '--save', '', '--appendonly', 'no', ...args])
      .withExposedPorts(6379)
      .start();
  } catch (err) {
    throw new Error(`${NO_REDIS}\n(testcontainers failed: ${(err as Error).message})`);
  }
  return ownedHandle(container.getHost(), container.getMappedPort(6379), {
    kill: async () => void (await container.stop()),
    restart: () => container.restart(),
    stop: async () => void (await container.stop()),
  });
}
