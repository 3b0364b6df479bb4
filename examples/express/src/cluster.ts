import type { CacheStore } from '@restash/core';
import { Catalogue } from '@restash/example-shared';
import { createApp, type CatalogueApp } from './app.js';

/** Options of {@link createCluster}. */
export interface ClusterOptions {
  /**
   * One store per instance, on one Redis: each brings its own connections and local tier, as
   * two processes would.
   */
  stores: readonly [CacheStore, CacheStore];
  /** Milliseconds every database call takes. Default 5. */
  dbLatencyMs?: number;
  onError?: (err: unknown) => void;
}

/** Two instances of the catalogue app and the database they share. */
export interface Cluster {
  instances: readonly [CatalogueApp, CatalogueApp];
  catalogue: Catalogue;
  /** Closes both caches; the stores stay open. */
  close(): Promise<void>;
}

/**
 * Two app instances as a load balancer would spread requests over: one database, one Redis,
 * nothing else in common. In one process, but all that could tell one instance that the other
 * wrote goes through Redis.
 */
export function createCluster(options: ClusterOptions): Cluster {
  const catalogue = new Catalogue(options.dbLatencyMs);
  const instance = (store: CacheStore): CatalogueApp =>
    createApp({
      store,
      catalogue,
      // Metrics count every cache in a process: per instance they would be wrong.
      metrics: false,
      ...(options.onError ? { onError: options.onError } : {}),
    });
  const [a, b] = options.stores;
  const instances = [instance(a), instance(b)] as const;
  const close = async (): Promise<void> => {
    await Promise.all(instances.map((app) => app.close()));
  };
  return { instances, catalogue, close };
}
