import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { freePort, redisServerBinary, ServerProcess } from './processes';
import { waitFor } from './wait';

/** Where a sentinel or a data server listens. */
export interface Address {
  readonly host: string;
  readonly port: number;
}

/** A local Redis Sentinel deployment for one test: a master, its replica and three sentinels. */
export interface SentinelHandle {
  /** The master name the sentinels monitor. */
  readonly name: string;
  readonly sentinels: Address[];
  /** Ports of the two data servers (master and replica, in whichever roles they are now). */
  readonly servers: number[];
  readonly keyPrefix: string;
  /** The master's port as the first sentinel that answers reports it. */
  masterPort(): Promise<number>;
  /** SIGKILL of the current master; resolves with its port once it is gone. */
  killMaster(): Promise<number>;
  /** SENTINEL FAILOVER (a graceful failover); resolves once a sentinel accepted it. */
  failover(): Promise<void>;
  /** Resolves with the new master's port once every sentinel reports one other than `from`. */
  waitForSwitch(from: number, timeoutMs?: number): Promise<number>;
  /** Runs `fn` on a fresh plain connection to the data server on `port`, closed afterwards. */
  onServer<T>(port: number, fn: (conn: Redis) => Promise<T>): Promise<T>;
  /** Kills every process and removes their directories. Idempotent. */
  stop(): Promise<void>;
}

const NAME = 'restash';

/**
 * Starts a master, a replica of it and three sentinels (quorum 2) on loopback. The sentinels are
 * told about each other and about the replica in their config files, so they can fail over at
 * once instead of after a discovery period of seconds. `downAfterMs` is how long a master must be
 * unreachable before it is considered down.
 */
export async function startRedisSentinel(
  opts: { downAfterMs?: number; failoverTimeoutMs?: number } = {},
): Promise<SentinelHandle> {
  const { downAfterMs = 1000, failoverTimeoutMs = 5000 } = opts;
  const binary = redisServerBinary();
  if (!binary) {
    throw new Error(
      'The Sentinel tests need the redis-server binary (apt-get install redis-server).',
    );
  }
  const masterPort = await freePort();
  const replicaPort = await freePort();
  // Disk-based sync: a diskless one makes the master wait 5 s for more replicas before it starts,
  // and then hold the replica's stream back until the replica's next periodic ACK (up to 1 s).
  const sync = ['--repl-diskless-sync', 'no'];
  const data = [
    new ServerProcess(binary, masterPort, sync),
    new ServerProcess(binary, replicaPort, [
      ...sync,
      '--replicaof',
      '127.0.0.1',
      String(masterPort),
    ]),
  ];
  const ids = [0, 1, 2].map(() => randomBytes(20).toString('hex'));
  const ports = [await freePort(), await freePort(), await freePort()];
  const sentinels = ports.map(
    (port, i) =>
      new ServerProcess(
        binary,
        port,
        ['--sentinel'],
        [
          `sentinel myid ${ids[i]}`,
          `sentinel monitor ${NAME} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${NAME} ${downAfterMs}`,
          `sentinel failover-timeout ${NAME} ${failoverTimeoutMs}`,
          `sentinel parallel-syncs ${NAME} 1`,
          `sentinel known-replica ${NAME} 127.0.0.1 ${replicaPort}`,
          ...ports
            .map((other, j) => `sentinel known-sentinel ${NAME} 127.0.0.1 ${other} ${ids[j]}`)
            .filter((_, j) => j !== i),
          '',
        ].join('\n'),
      ),
  );
  const all = [...data, ...sentinels];
  let stopped = false;
  const connect = (port: number): Redis =>
    new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  const on = async <T>(port: number, fn: (conn: Redis) => Promise<T>): Promise<T> => {
    const conn = connect(port);
    try {
      await conn.connect();
      return await fn(conn);
    } finally {
      conn.disconnect();
    }
  };
  const live = (): ServerProcess[] => sentinels.filter((s) => s.running);
  const reportedMaster = (port: number): Promise<number> =>
    on(port, async (c) => {
      const [, masterPort] = (await c.call(
        'SENTINEL',
        'GET-MASTER-ADDR-BY-NAME',
        NAME,
      )) as string[];
      return Number(masterPort);
    });

  const handle: SentinelHandle = {
    name: NAME,
    sentinels: ports.map((port) => ({ host: '127.0.0.1', port })),
    servers: [masterPort, replicaPort],
    keyPrefix: `rt${randomBytes(4).toString('hex')}:`,
    async masterPort() {
      for (const s of live()) {
        const port = await reportedMaster(s.port).catch(() => undefined);
        if (port !== undefined) return port;
      }
      throw new Error('no sentinel answers');
    },
    async killMaster() {
      const port = await handle.masterPort();
      await data.find((s) => s.port === port)?.kill();
      return port;
    },
    async failover() {
      await on(ports[0]!, (c) => c.call('SENTINEL', 'FAILOVER', NAME));
    },
    async waitForSwitch(from, timeoutMs = 15_000) {
      let to = from;
      await waitFor(
        async () => {
          const reported = await Promise.all(live().map((s) => reportedMaster(s.port)));
          to = reported[0] ?? from;
          return reported.every((port) => port !== from && port === to);
        },
        timeoutMs,
        `every sentinel reporting a master other than ${from}`,
      );
      return to;
    },
    onServer: on,
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all(all.map((s) => s.kill()));
      for (const s of all) s.removeDir();
    },
  };

  try {
    await Promise.all(data.map((s) => s.start()));
    // In sync: the replica acknowledges a write, so the master streams to it.
    await waitFor(
      () =>
        on(masterPort, async (c) => {
          await c.set('restash-harness', '1');
          return (await c.wait(1, 200)) === 1;
        }),
      10_000,
      'replica in sync',
    );
    await Promise.all(sentinels.map((s) => s.start()));
    // Ready to fail over: every sentinel sees the master up, the replica in sync, both peers.
    await waitFor(
      async () => {
        for (const port of ports) {
          const ready = await on(port, async (c) => {
            const master = fields((await c.call('SENTINEL', 'MASTER', NAME)) as string[]);
            const replicas = ((await c.call('SENTINEL', 'REPLICAS', NAME)) as string[][]).map(
              fields,
            );
            return (
              master.flags === 'master' &&
              master['num-other-sentinels'] === '2' &&
              replicas.length === 1 &&
              replicas[0]!.flags === 'slave' &&
              replicas[0]!['master-link-status'] === 'ok'
            );
          });
          if (!ready) return false;
        }
        return true;
      },
      10_000,
      'sentinels ready',
    );
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return handle;
}

/** A reply of flat name/value pairs as an object. */
function fields(reply: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) out[reply[i]!] = reply[i + 1]!;
  return out;
}
