import type { Cluster, Redis } from 'ioredis';
import { ClusterTracking } from './cluster-tracking.js';
import { isCluster } from './options.js';
import { HEALTH_CHECK_MS, Tracker, trackerOptions, type TrackerListener } from './tracker.js';

/** The store's view of tracking: which connection may serve a read that fills the local tier. */
export interface Tracking {
  /**
   * A connection whose reads of `redisKey` (with keyPrefix) are tracked now, if any. `undefined`
   * means: read through the store's client and keep nothing locally.
   */
  readerFor(redisKey: string): Redis | undefined;
  /**
   * Whether `err`, raised by a read on a reader, says that the reader's node does not serve the
   * key (a cluster redirect). The store then reads through its client and keeps nothing locally.
   */
  redirected(err: unknown): boolean;
  close(): Promise<void>;
}

/**
 * Starts tracking for a standalone Redis or for each master of a cluster; `versionPrefix` is where
 * tag versions live (keyPrefix included). With Sentinel, `server` says which server (run id) the
 * store's connection is on: reads are tracked only through connections on that same server.
 */
export function createTracking(
  client: Redis | Cluster,
  listener: TrackerListener,
  versionPrefix: string,
  server?: () => string | undefined,
): Tracking {
  if (isCluster(client)) {
    return new ClusterTracking(client, listener, HEALTH_CHECK_MS, versionPrefix);
  }
  const tracker = new Tracker(
    (role) => client.duplicate(trackerOptions(client.options, role)),
    listener,
    HEALTH_CHECK_MS,
    versionPrefix,
    server,
  );
  const onServer = (): boolean => !server || tracker.server === server();
  return {
    readerFor: () => (tracker.ready && onServer() ? tracker.reader : undefined),
    redirected: () => false,
    close: () => tracker.close(),
  };
}
