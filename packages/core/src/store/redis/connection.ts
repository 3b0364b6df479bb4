import { Cluster, Redis } from 'ioredis';
import {
  RESILIENT_CLUSTER_DEFAULTS,
  RESILIENT_DEFAULTS,
  type RedisCacheStoreOptions,
} from './options.js';

// The connection a store opens when it is not given one, and the wait for it to come up.

/** Opens the store's connection: a cluster, or a single Redis, with the resilient defaults. */
export function connect(options: RedisCacheStoreOptions): Redis | Cluster {
  if (options.cluster) {
    const { nodes, options: clusterOptions = {} } = options.cluster;
    return new Cluster(nodes, {
      ...RESILIENT_CLUSTER_DEFAULTS,
      ...clusterOptions,
      redisOptions: { ...nodeDefaults(), ...clusterOptions.redisOptions },
    });
  }
  return new Redis({ ...RESILIENT_DEFAULTS, connectionName: 'restash', ...options.clientOpts });
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
