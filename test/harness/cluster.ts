import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
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

/** One line of CLUSTER NODES. */
export interface NodeInfo {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly role: 'master' | 'replica';
  /** For a replica, the id of its master. */
  readonly masterId: string | undefined;
  /** Flagged `fail` or `fail?` by the node that answered. */
  readonly failed: boolean;
  /** Slot ranges served (masters), inclusive. */
  readonly slots: [number, number][];
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
  /** CLUSTER NODES as `port`'s node (default: the first live node) sees it. */
  topology(port?: number): Promise<NodeInfo[]>;
  /** Runs `fn` on a fresh plain connection to the node on `port`, closed afterwards. */
  onNode<T>(port: number, fn: (conn: Redis) => Promise<T>): Promise<T>;
  /**
   * Moves `slot` to the master on `toPort` the way `redis-cli --cluster reshard` does: IMPORTING
   * / MIGRATING, MIGRATE of its keys, SETSLOT NODE everywhere.
   */
  migrateSlot(slot: number, toPort: number): Promise<void>;
  /**
   * Gives `slot` to the master on `toPort` behind its owner's back: SETSLOT NODE on the new owner
   * only, plus BUMPEPOCH so gossip makes the old owner yield. The old owner then drops the slot's
   * keys without telling tracking clients (Redis 7 sends no invalidation for them).
   */
  claimSlot(slot: number, toPort: number): Promise<void>;
  /** CLUSTER FAILOVER on the replica on `replicaPort`; resolves once it is master and healthy. */
  failover(replicaPort: number): Promise<void>;
  /** Resolves once every live node reports cluster_state:ok with all slots served. */
  waitForHealthy(timeoutMs?: number): Promise<void>;
  /** FLUSHALL on every live master. */
  flush(): Promise<void>;
  /** INFO commandstats summed over live nodes. */
  commandStats(): Promise<Record<string, number>>;
  /**
   * Kills every node and removes their directories. Idempotent. Close the clients first; stop()
   * then waits a moment, since a just-closed ioredis Cluster may still have a slot refresh in
   * flight, and a node dying under it leaves ioredis's 2 s disconnect timer keeping jest alive.
   */
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
  const slotMove = async (slot: number, toPort: number) => {
    const nodes = await handle.topology();
    const source = nodes.find(
      (n) => n.role === 'master' && n.slots.some(([a, b]) => slot >= a && slot <= b),
    );
    const target = nodes.find((n) => n.port === toPort);
    if (!source || !target) throw new Error(`cannot move slot ${slot} to ${toPort}`);
    return { source, target, nodes };
  };
  /** Waits until every live node says `slot` is served by `port`. */
  const agreeOn = (slot: number, port: number): Promise<void> =>
    waitFor(
      async () => {
        for (const server of live()) {
          const nodes = await handle.topology(server.port);
          const owner = nodes.find(
            (n) => n.role === 'master' && n.slots.some(([a, b]) => slot >= a && slot <= b),
          );
          if (owner?.port !== port) return false;
        }
        return true;
      },
      10_000,
      `every node agreeing that slot ${slot} is on ${port}`,
    );
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
      return (await handle.topology())
        .filter((n) => n.role === 'master' && !n.failed)
        .map(({ host, port }) => ({ host, port }));
    },
    async topology(port) {
      const server = port === undefined ? live()[0] : servers.find((s) => s.port === port);
      if (!server) return [];
      const nodes = await onNode(server, (c) => c.cluster('NODES') as Promise<string>);
      return nodes
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => {
          const [id = '', address = '', flags = '', master = '-', , , , , ...slots] =
            line.split(' ');
          const [host = '', nodePort = ''] = address.split('@')[0]!.split(':');
          const role = flags.split(',').includes('master') ? 'master' : 'replica';
          return {
            id,
            host,
            port: Number(nodePort),
            role,
            masterId: master === '-' ? undefined : master,
            failed: flags.includes('fail'),
            slots: slots
              .filter((range) => !range.startsWith('['))
              .map((range) => {
                const [start = '', end = start] = range.split('-');
                return [Number(start), Number(end)] as [number, number];
              }),
          };
        });
    },
    onNode(port, fn) {
      const server = servers.find((s) => s.port === port);
      if (!server) throw new Error(`no cluster node on port ${port}`);
      return onNode(server, fn);
    },
    async migrateSlot(slot, toPort) {
      const { source, target, nodes } = await slotMove(slot, toPort);
      if (source.port === toPort) return;
      await handle.onNode(toPort, (c) => c.cluster('SETSLOT', slot, 'IMPORTING', source.id));
      await handle.onNode(source.port, async (c) => {
        await c.cluster('SETSLOT', slot, 'MIGRATING', target.id);
        for (;;) {
          const keys = (await c.cluster('GETKEYSINSLOT', slot, 1000)) as string[];
          if (keys.length === 0) break;
          await c.migrate(target.host, target.port, '', 0, 5000, 'KEYS', ...keys);
        }
      });
      // Target first, as redis-cli does: the slot must never be served by nobody.
      for (const node of [target, source, ...nodes.filter((n) => n !== target && n !== source)]) {
        if (node.failed || !servers.some((s) => s.port === node.port && s.running)) continue;
        await handle.onNode(node.port, (c) => c.cluster('SETSLOT', slot, 'NODE', target.id));
      }
      await agreeOn(slot, target.port);
    },
    async claimSlot(slot, toPort) {
      const { target } = await slotMove(slot, toPort);
      await handle.onNode(toPort, async (c) => {
        await c.cluster('SETSLOT', slot, 'NODE', target.id);
        await c.cluster('BUMPEPOCH');
      });
      await agreeOn(slot, target.port);
    },
    async failover(replicaPort) {
      await handle.onNode(replicaPort, async (c) => {
        // A manual failover needs the replica in sync first.
        await waitFor(
          async () => /master_link_status:up/.test(await c.info('replication')),
          10_000,
          'replica in sync',
        );
        await c.cluster('FAILOVER');
        await waitFor(async () => (await c.role())[0] === 'master', 10_000, 'failover');
      });
      await handle.waitForHealthy();
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
      await sleep(250);
      await Promise.all(servers.map((s) => s.kill()));
      for (const s of servers) s.removeDir();
    },
  };
  await handle.waitForHealthy();
  return handle;
}
