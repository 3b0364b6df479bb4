import type {
  Cluster,
  ClusterNode,
  ClusterOptions,
  Redis,
  RedisOptions,
  SentinelAddress,
} from 'ioredis';
import {
  checkBoolean,
  checkFunction,
  checkInteger,
  checkKnownKeys,
  checkObject,
  describe,
} from '../../validate.js';
import { checkKeyPrefix } from './layout.js';
import { checkSentinel } from './sentinel.js';

/** Options of {@link RedisCacheStore}. */
export interface RedisCacheStoreOptions {
  /**
   * ioredis options for the connections the store opens (host, port, db, password, keyPrefix, …).
   * They override the store's defaults (see {@link RESILIENT_DEFAULTS}). With `sentinel`, they
   * are the options of the data connections (password, db, keyPrefix, tls, …) and of ioredis's
   * sentinel connections (`sentinelPassword`, `natMap`, …).
   * @default none: `localhost:6379` (ioredis's own defaults) with {@link RESILIENT_DEFAULTS},
   * unless `cluster` or `client` says otherwise
   */
  clientOpts?: RedisOptions;
  /**
   * Find the master through Redis Sentinel and follow it across failovers: every connection the
   * store opens watches the sentinels for a new master (ioredis's `failoverDetector`, on by
   * default here), and the store replays its recent writes on a new master, so that nothing the
   * old master acknowledged after its replica was promoted leaves a stale entry behind. Combine
   * with `clientOpts` for the other options.
   * @default none: the store connects as `clientOpts`, `cluster` or `client` says
   */
  sentinel?: {
    /** Sentinels to ask for the master: at least one; the others are learnt from it. */
    sentinels: Partial<SentinelAddress>[];
    /** The master's name, as in `sentinel monitor <name> …`. */
    name: string;
    /**
     * How far back, from the moment the store lost its master, its own writes (keys set or
     * deleted, tags invalidated) are written again on the next master when that server holds no
     * mark of the store's progress (see failover.ts). Must cover the time the store may keep
     * writing to a master that was replaced: about 1 s with the failover detector on, until
     * Sentinel demotes the old master without it (10 to 12 s).
     * @default 15000
     */
    replayWindowMs?: number;
    /**
     * After the store moved to a new master and replayed its writes, gets miss (without asking
     * Redis) for this long more, so that the other app instances, which learn of the failover
     * at the same moment, have replayed theirs before anything is read from the new master.
     * @default 500
     */
    settleMs?: number;
  };
  /**
   * Connect to a Redis Cluster instead: startup nodes and ioredis cluster options (per-node
   * settings such as password or commandTimeout go to `options.redisOptions`; see
   * {@link RESILIENT_CLUSTER_DEFAULTS}).
   * @default none: a single Redis, as `clientOpts` or `sentinel` says
   */
  cluster?: {
    /** Nodes to connect to first: at least one; ioredis learns the others from it. */
    nodes: ClusterNode[];
    /**
     * ioredis cluster options, over {@link RESILIENT_CLUSTER_DEFAULTS}; `redisOptions` (per
     * node) over the per-node part of {@link RESILIENT_DEFAULTS}.
     */
    options?: ClusterOptions;
  };
  /**
   * Bring your own ioredis connection (`Redis` or `Cluster`, ioredis 5 or 6, any `protocol`). The
   * store never quits it; the extra connections it opens for tracking are duplicates of it (pinned
   * to RESP2) and are closed by `close()`.
   * @default none: the store opens (and closes) its own, from `clientOpts`, `sentinel` or `cluster`
   */
  client?: IoredisClient;
  /**
   * Largest entry (value plus metadata JSON) in bytes; a larger `set` rejects.
   * @default `100 * 1024 * 1024` (100 MiB)
   */
  maxEntrySize?: number;
  /**
   * Keep a local tier coherent through Redis CLIENT TRACKING. On a cluster, each master is tracked
   * over its own connections; while slots change masters the local tier is flushed and bypassed
   * for them (reported to `errorCallback`).
   * @default true
   */
  tracking?: boolean;
  /**
   * Most entries in the local tier; also in the entries kept to read an unchanged entry again
   * without its value (with tracking off too).
   * @default 10_000
   */
  maxCount?: number;
  /**
   * Most bytes (values plus metadata JSON) in the local tier; also in the entries kept to read an
   * unchanged entry again without its value (with tracking off too).
   * @default `64 * 1024 * 1024` (64 MiB)
   */
  maxSize?: number;
  /**
   * Hears every Redis error the store absorbs (a failed get is a miss, it never throws).
   * @default `console.error`, at most once per 10 s: an outage shows without a line per request
   */
  errorCallback?: (err: unknown) => void;
}

/**
 * An ioredis `Redis` or `Cluster` of ioredis 5 or 6, with any `protocol` and `replyMapping`.
 *
 * Described by shape rather than as ioredis's classes: those are nominal (private and protected
 * members), so a client from another copy of ioredis than the one this package resolves — another
 * major, or the same major installed twice — would not type-check as `client`, although the store
 * uses nothing the two majors do not share.
 */
export interface IoredisClient {
  /** `true` on a `Cluster`: the store then tracks each master and routes reads by slot. */
  readonly isCluster: boolean;
  /** ioredis's connection state: until `'ready'`, the store's first commands wait briefly. */
  readonly status: string;
  /** The client's options: the store's keys follow its prefix, its own connections the rest. */
  readonly options: {
    /** Prefix ioredis adds to every key: the store's keys and tracking are under it. */
    readonly keyPrefix?: string | undefined;
  };
  /** Opens a copy of the connection: the store's tracking reader and invalidation subscriber. */
  duplicate(...args: never[]): unknown;
  /** Runs a Lua script by its SHA1: the store reads and writes through its scripts. */
  evalsha(...args: never[]): unknown;
}

/**
 * Connection defaults that keep an app fast when Redis is down or slow: commands fail after
 * 250 ms instead of hanging, nothing queues while disconnected (a queue would grow without bound
 * and replay stale writes later), a command is retried at most once after a reconnect, and
 * reconnection backs off to 2 s.
 */
export const RESILIENT_DEFAULTS = {
  /**
   * A command fails after 250 ms (ioredis: never): a slow Redis then costs a request a bounded
   * delay before the handler answers it, instead of holding it. Raise it only above your Redis's
   * p99 latency.
   */
  commandTimeout: 250,
  /** An unreachable host is given up after 2 s (ioredis: 10 s), then retried on `retryStrategy`. */
  connectTimeout: 2000,
  /**
   * Commands fail at once while disconnected (ioredis: queued): a queue grows without bound
   * during an outage and replays writes, stale by then, when Redis is back.
   */
  enableOfflineQueue: false,
  /**
   * A command caught by a dropped connection fails after one reconnection attempt (ioredis: 20):
   * a cache that cannot answer soon is better skipped than waited for.
   */
  maxRetriesPerRequest: 1,
  /**
   * Reconnect after 100, 200, 400, 800, 1600 ms, then every 2 s: back within moments of a
   * restart, without hammering a Redis that stays down.
   */
  retryStrategy: (times: number): number => Math.min(50 * 2 ** times, 2000),
} satisfies RedisOptions;

/** The same defaults for a cluster: per-node settings go to `redisOptions`. */
export const RESILIENT_CLUSTER_DEFAULTS = {
  /** Commands fail at once while the cluster is unreachable, as with `RESILIENT_DEFAULTS`. */
  enableOfflineQueue: false,
  /** Reconnect to a cluster that was wholly lost on the same back-off as a single Redis. */
  clusterRetryStrategy: RESILIENT_DEFAULTS.retryStrategy,
  /**
   * A command whose node dropped is sent again after 100 ms, once the slot map is refreshed
   * (ioredis's default, stated so that `maxRedirections` bounds a known wait).
   */
  retryDelayOnFailover: 100,
  /** Likewise after CLUSTERDOWN (a failover under way): ioredis's 100 ms. */
  retryDelayOnClusterDown: 100,
  /** Likewise after TRYAGAIN (a multi-key command on a migrating slot): ioredis's 100 ms. */
  retryDelayOnTryAgain: 100,
  /**
   * A command is sent again at most 4 times after MOVED, ASK, TRYAGAIN, CLUSTERDOWN or a dropped
   * node (ioredis: 16): with the 100 ms delays above it gives up within about half a second
   * rather than hold a request while the cluster sorts itself out.
   */
  maxRedirections: 4,
  /** A node slower than 1 s to answer CLUSTER SLOTS is passed over (ioredis's default). */
  slotsRefreshTimeout: 1000,
} satisfies ClusterOptions;

const KNOWN = [
  'clientOpts',
  'sentinel',
  'cluster',
  'client',
  'maxEntrySize',
  'tracking',
  'maxCount',
  'maxSize',
  'errorCallback',
] as const;

/** Throws a TypeError naming the first bad option. */
export function checkOptions(options: RedisCacheStoreOptions): void {
  checkObject('options', options);
  checkKnownKeys('RedisCacheStore', options, KNOWN);
  checkObject('clientOpts', options.clientOpts);
  checkObject('cluster', options.cluster);
  checkInteger('maxEntrySize', options.maxEntrySize);
  checkBoolean('tracking', options.tracking);
  checkInteger('maxCount', options.maxCount, 1);
  checkInteger('maxSize', options.maxSize, 1);
  checkFunction('errorCallback', options.errorCallback);
  const sources = (['clientOpts', 'cluster', 'client'] as const).filter(
    (k) => options[k] !== undefined,
  );
  if (sources.length > 1) {
    throw new TypeError(
      `pass only one of clientOpts, cluster and client (got ${sources.join(', ')})`,
    );
  }
  const { client, cluster } = options;
  if (client !== undefined && !isIoredis(client)) {
    throw new TypeError(
      `client must be an ioredis Redis or Cluster instance, got ${describe(client)}`,
    );
  }
  if (cluster !== undefined && (!Array.isArray(cluster.nodes) || cluster.nodes.length === 0)) {
    throw new TypeError('cluster.nodes must be a non-empty array of startup nodes');
  }
  checkObject('cluster.options', cluster?.options);
  checkSentinel(options.sentinel);
  if (options.sentinel !== undefined && (cluster !== undefined || client !== undefined)) {
    throw new TypeError('sentinel cannot be combined with cluster or client');
  }
  const clientOpts: RedisOptions = options.clientOpts ?? {};
  if (options.sentinel !== undefined && (clientOpts.sentinels ?? clientOpts.name) !== undefined) {
    throw new TypeError('give the sentinels and the master name in sentinel, not in clientOpts');
  }
  if ((options.sentinel !== undefined || clientOpts.sentinels) && clientOpts.role === 'slave') {
    throw new TypeError("clientOpts.role must be 'master' with Sentinel: the store writes");
  }
  const prefix = options.clientOpts?.keyPrefix ?? cluster?.options?.keyPrefix;
  if (prefix !== undefined && typeof prefix !== 'string') {
    throw new TypeError(`clientOpts.keyPrefix must be a string, got ${describe(prefix)}`);
  }
  // Before any connection opens: a rejected option must not leave one behind.
  if (prefix !== undefined) checkKeyPrefix(prefix);
}

/** The key prefix ioredis adds to every key of `conn`. */
export function keyPrefixOf(conn: Redis | Cluster): string {
  const prefix = conn.options.keyPrefix ?? '';
  checkKeyPrefix(prefix);
  return prefix;
}

/**
 * Whether `conn` is an ioredis Cluster. By its `isCluster` flag rather than `instanceof`, so a
 * client from another copy of ioredis (a different version in the app) is recognised too.
 */
export function isCluster(conn: Redis | Cluster): conn is Cluster {
  return (conn as { isCluster?: unknown }).isCluster === true;
}

/**
 * `client` as the ioredis this package imports declares it. A client of another copy or major
 * has other class types but the same behaviour for what the store calls (checked by `isIoredis`
 * at construction; both majors are tested), so this only bridges the two sets of declarations.
 */
export function asConnection(client: IoredisClient): Redis | Cluster {
  return client as Redis | Cluster;
}

function isIoredis(value: unknown): value is IoredisClient {
  return (
    typeof value === 'object' &&
    value !== null &&
    'duplicate' in value &&
    'evalsha' in value &&
    'options' in value
  );
}
