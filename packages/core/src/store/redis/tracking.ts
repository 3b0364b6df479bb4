import { Cluster, type Redis, type RedisOptions } from 'ioredis';
import { RESILIENT_DEFAULTS } from './options.js';
import { Tracker, type TrackerListener } from './tracker.js';

/** How often trackers verify that their connections and redirect are still in place. */
export const HEALTH_CHECK_MS = 1000;

/** The store's view of tracking: which connection may serve a read that fills the local tier. */
export interface Tracking {
  /** A connection whose reads of `redisKey` (with keyPrefix) are tracked now, if any. */
  readerFor(redisKey: string): Redis | undefined;
  close(): Promise<void>;
}

/** Starts tracking for a standalone Redis or for each master of a cluster. */
export function createTracking(client: Redis | Cluster, listener: TrackerListener): Tracking {
  if (client instanceof Cluster) throw new Error('tracking on a cluster is not supported yet');
  const tracker = new Tracker(
    (role) => client.duplicate(trackerOptions(client.options, role)),
    listener,
    HEALTH_CHECK_MS,
  );
  return {
    readerFor: () => (tracker.ready ? tracker.reader : undefined),
    close: () => tracker.close(),
  };
}

/** Tracker connections keep the store's settings but never queue and never resubscribe alone. */
export function trackerOptions(base: RedisOptions, role: 'reader' | 'invalidations'): RedisOptions {
  return {
    commandTimeout: base.commandTimeout ?? RESILIENT_DEFAULTS.commandTimeout,
    enableOfflineQueue: false,
    autoResubscribe: false,
    connectionName: `${base.connectionName ?? 'restash'}:${role}`,
  };
}
