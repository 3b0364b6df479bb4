import { Cluster, Redis } from 'ioredis';
import {
  isCluster,
  RESILIENT_CLUSTER_DEFAULTS,
  RESILIENT_DEFAULTS,
  type RedisCacheStoreOptions,
} from './options.js';
import { isSentinel, RESILIENT_SENTINEL_DEFAULTS } from './sentinel.js';

// The connection a store opens when it is not given one, and the wait for it to come up.

/**
 * Opens the store's connection: a cluster, or a single Redis (found directly or through
 * Sentinel), with the resilient defaults.
 */
export function connect(options: RedisCacheStoreOptions): Redis | Cluster {
  if (options.cluster) {
    const { nodes, options: clusterOptions = {} } = options.cluster;
    return new Cluster(nodes, {
      ...RESILIENT_CLUSTER_DEFAULTS,
      ...clusterOptions,
      redisOptions: { ...nodeDefaults(), ...clusterOptions.redisOptions },
    });
  }
  const { clientOpts = {}, sentinel } = options;
  const sentinels = sentinel ? { sentinels: sentinel.sentinels, name: sentinel.name } : {};
  const sentinelDefaults =
    sentinel || clientOpts.sentinels?.length ? RESILIENT_SENTINEL_DEFAULTS : {};
  return new Redis({
    ...RESILIENT_DEFAULTS,
    ...sentinelDefaults,
    connectionName: 'restash',
    ...sentinels,
    ...clientOpts,
  });
}

function nodeDefaults(): Omit<typeof RESILIENT_DEFAULTS, 'retryStrategy' | 'enableOfflineQueue'> & {
  connectionName: string;
} {
  const { commandTimeout, connectTimeout, maxRetriesPerRequest } = RESILIENT_DEFAULTS;
  return { commandTimeout, connectTimeout, maxRetriesPerRequest, connectionName: 'restash' };
}

/**
 * Resolves once `client` is ready, or after `ms` (the commands then fail fast as usual), or when
 * `end` is called (the store closed).
 */
export function waitForReady(
  client: Redis | Cluster,
  ms: number,
): { ready: Promise<void>; end(): void } {
  let end!: () => void;
  const ready = new Promise<void>((resolve) => {
    end = (): void => {
      clearTimeout(timer);
      client.off('ready', end);
      resolve();
    };
    const timer = setTimeout(end, ms);
    client.once('ready', end);
  });
  return { ready, end };
}

/**
 * Quits `conn` once the replies it waits for are in. With Sentinel it also closes the connections
 * ioredis's failover detector keeps to the sentinels, which `quit()` alone leaves open (ioredis
 * issue 1362): `disconnect()` right after QUIT is written ends them, and only ends our side of the
 * data connection, whose pending replies still arrive.
 */
export async function quit(conn: Redis | Cluster): Promise<void> {
  try {
    const quitting = conn.quit();
    if (!isCluster(conn) && isSentinel(conn)) conn.disconnect();
    await quitting;
  } catch {
    conn.disconnect();
  }
}
