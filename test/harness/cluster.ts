import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { freePort, redisServerBinary, ServerProcess } from './processes';
import { waitFor } from './wait';

const run = promisify(execFile);

/** One redis-server process of a local cluster. */
export interface ClusterNode {
  readonly host: string;
  readonly port: number;
  kill(): Promise<void>;
  /** Starts it again with the same port and nodes.conf, so it rejoins the cluster. */
  restart(): Promise<void>;
}

/** A local Redis Cluster for one test file. */
export interface ClusterHandle {
  readonly nodes: ClusterNode[];
  readonly startupNodes: { host: string; port: number }[];
  readonly keyPrefix: string;
  /** An ioredis Cluster for assertions; closed by `stop()`. */
  admin(): Cluster;
  /** The current masters, per CLUSTER NODES of a live node. */
  masters(): Promise<{ host: string; port: number }[]>;
  /** Resolves once every live node reports cluster_state:ok with all slots served. */
  waitForHealthy(timeoutMs?: number): Promise<void>;
  /** FLUSHALL on every live master. */
  flush(): Promise<void>;
  /** INFO commandstats summed over live nodes. */
  commandStats(): Promise<Record<string, number>>;
  /** Kills every node and removes their directories. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts `masters` masters with `replicasPerMaster` replicas each (`--cluster-enabled yes`
 * processes joined by `redis-cli --cluster create`). A short node timeout keeps failover tests fast.
 */
export async function startRedisCluster(
  opts: { masters?: number; replicasPerMaster?: number; nodeTimeoutMs?: number } = {},
): Promise<ClusterHandle> {
  const { masters = 3, replicasPerMaster = 0, nodeTimeoutMs = 1000 } = opts;
  const binary = redisServerBinary();
  if (!binary)
    throw new Error(
      'The cluster tests need the redis-server and redis-cli binaries (apt-get install redis-server).',
    );
  const count = masters * (1 + replicasPerMaster);
  const servers: ServerProcess[] = [];
  for (let i = 0; i < count; i++) {
    const port = await freePort(true);
    servers.push(
      new ServerProcess(binary, port, [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--cluster-node-timeout',
        String(nodeTimeoutMs),
      ]),
    );
  }
  await Promise.all(servers.map((s) => s.start()));
  const addresses = servers.map((s) => `127.0.0.1:${s.port}`);
  await run('redis-cli', [
    '--cluster',
    'create',
    ...addresses,
    '--cluster-replicas',
    String(replicasPerMaster),
    '--cluster-yes',
  ]);

  let admin: Cluster | undefined;
  let stopped = false;
  const live = (): ServerProcess[] => servers.filter((s) => s.running);
  const onNode = async <T>(server: ServerProcess, fn: (conn: Redis) => Promise<T>): Promise<T> => {
    const conn = new Redis({
      port: server.port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    try {
      await conn.connect();
      return await fn(conn);
    } finally {
      conn.disconnect();
    }
  };
  const handle: ClusterHandle = {
    nodes: servers.map((s) => ({
      host: '127.0.0.1',
      port: s.port,
      kill: () => s.kill(),
      restart: () => s.start(),
    })),
    startupNodes: servers.map((s) => ({ host: '127.0.0.1', port: s.port })),
    keyPrefix: `rt${randomBytes(4).toString('hex')}:`,
    admin: () =>
      (admin ??= new Cluster(handle.startupNodes, { redisOptions: { maxRetriesPerRequest: 1 } })),
    async masters() {
      const [first] = live();
      if (!first) return [];
      const nodes = await onNode(first, (c) => c.cluster('NODES') as Promise<string>);
      return nodes
        .split('\n')
        .map((line) => line.split(' '))
        .filter(
          ([, , flags = '']) => flags.split(',').includes('master') && !flags.includes('fail'),
        )
        .map(([, address = '']) => {
          const [host = '', port = ''] = address.split('@')[0]!.split(':');
          return { host, port: Number(port) };
        });
    },
    async waitForHealthy(timeoutMs = 20_000) {
      await waitFor(
        async () => {
          for (const server of live()) {
            const healthy = await onNode(server, async (c) => {
              const info = (await c.cluster('INFO')) as string;
              return /cluster_state:ok/.test(info) && /cluster_slots_ok:16384/.test(info);
            }).catch(() => false);
            if (!healthy) return false;
          }
          return true;
        },
        timeoutMs,
        'cluster health',
      );
    },
    async flush() {
      for (const master of await handle.masters()) {
        const server = servers.find((s) => s.port === master.port);
        if (server) await onNode(server, (c) => c.flushall());
      }
    },
    async commandStats() {
      const stats: Record<string, number> = {};
      for (const server of live()) {
        const info = await onNode(server, (c) => c.info('commandstats'));
        for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
          stats[match[1]!] = (stats[match[1]!] ?? 0) + Number(match[2]);
        }
      }
      return stats;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      admin?.disconnect();
      await Promise.all(servers.map((s) => s.kill()));
      for (const s of servers) s.removeDir();
    },
  };
  await handle.waitForHealthy();
  return handle;
}
