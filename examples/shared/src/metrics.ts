import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Counter, Histogram, Registry } from 'prom-client';
import type { CacheStats, LookupStatus } from '@restash/core';

// A recipe: restash publishes what it does on `restash:*` diagnostics channels, and these
// listeners turn the messages into Prometheus series. Channels are process-wide, so the series
// add up every cache in the process (as a rule an app has one, and a process is one target).

/** `restash:store`: a store attempted after a miss. */
interface StoreMessage {
  route: string;
  stored: boolean;
  reason: string | undefined;
}

/** `restash:invalidate`: an invalidation, done or failed. */
interface InvalidateMessage {
  removed: number | undefined;
  duration: number;
  error: unknown;
}

/** `restash:error`: an error the cache absorbed (what `onError` hears). */
interface ErrorMessage {
  error: unknown;
}

/** Options of {@link cacheMetrics}. */
export interface CacheMetricsOptions {
  /** Where the metrics register. Default: a registry of their own. */
  registry?: Registry;
  /** Caches whose `stats()` give what no channel says: hits answered by the local tier. */
  caches?: readonly { stats(): CacheStats }[];
}

/** restash's metrics, and what a `/metrics` route needs. */
export interface CacheMetrics {
  readonly registry: Registry;
  /** The exposition text of the registry, and its content type. */
  scrape(): Promise<{ contentType: string; body: string }>;
  /** Stops listening and removes the metrics from the registry. */
  close(): void;
}

const NAMES = {
  lookups: 'restash_lookups_total',
  uncached: 'restash_uncached_total',
  stores: 'restash_stores_total',
  invalidations: 'restash_invalidation_duration_seconds',
  invalidated: 'restash_invalidated_entries_total',
  errors: 'restash_errors_total',
  localHits: 'restash_local_hits_total',
};

// Invalidations take about a millisecond on a local Redis, tens on a large tag or a busy server.
const INVALIDATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5];

/**
 * Prometheus metrics of restash (all `restash_*`):
 * - `lookups_total{route, outcome}`: hit, stale, collapsed, revalidated, miss, bypass;
 * - `uncached_total{route, reason}`: why a lookup bypassed or its response was not stored;
 * - `stores_total{route, result}`: `stored`, or why the store did not happen;
 * - `invalidation_duration_seconds{result}` and `invalidated_entries_total`;
 * - `errors_total{kind}`: errors the cache absorbed, by `code` or class name;
 * - `local_hits_total`: hits answered from process memory, from the `caches` given.
 */
export function cacheMetrics(options: CacheMetricsOptions = {}): CacheMetrics {
  const registry = options.registry ?? new Registry();
  const caches = options.caches ?? [];
  const registers = [registry];
  const lookups = new Counter({
    name: NAMES.lookups,
    help: 'Requests that reached a cached route, by route and outcome',
    labelNames: ['route', 'outcome'] as const,
    registers,
  });
  const uncached = new Counter({
    name: NAMES.uncached,
    help: 'Lookups that bypassed the cache or whose response was not stored, by reason',
    labelNames: ['route', 'reason'] as const,
    registers,
  });
  const stores = new Counter({
    name: NAMES.stores,
    help: 'Stores attempted after a miss: result is "stored" or why not',
    labelNames: ['route', 'result'] as const,
    registers,
  });
  const invalidations = new Histogram({
    name: NAMES.invalidations,
    help: 'Time from an invalidation to the store confirming it (or failing)',
    labelNames: ['result'] as const,
    buckets: INVALIDATION_BUCKETS,
    registers,
  });
  const invalidated = new Counter({
    name: NAMES.invalidated,
    help: 'Entries that invalidations removed',
    registers,
  });
  const errors = new Counter({
    name: NAMES.errors,
    help: 'Errors the cache absorbed (the request was served by its handler), by code or class',
    labelNames: ['kind'] as const,
    registers,
  });
  new Counter({
    name: NAMES.localHits,
    help: 'Hits answered from process memory (local tier or in-memory store), no Redis round trip',
    registers,
    // No channel tells a local hit from a Redis one: read the caches' own count at scrape time.
    collect() {
      this.reset();
      this.inc(caches.reduce((sum, cache) => sum + cache.stats().localHits, 0));
    },
  });

  const listeners: Record<string, (message: unknown) => void> = {
    'restash:lookup': (message) => {
      const { route, outcome, reason } = message as LookupStatus;
      lookups.inc({ route, outcome });
      if (reason) uncached.inc({ route, reason });
    },
    'restash:store': (message) => {
      const { route, stored, reason } = message as StoreMessage;
      stores.inc({ route, result: stored ? 'stored' : (reason ?? 'not-stored') });
    },
    'restash:invalidate': (message) => {
      const { removed, duration, error } = message as InvalidateMessage;
      invalidations.observe({ result: error === undefined ? 'ok' : 'error' }, duration / 1000);
      if (removed) invalidated.inc(removed);
    },
    'restash:error': (message) => {
      errors.inc({ kind: errorKind((message as ErrorMessage).error) });
    },
  };
  for (const [name, listener] of Object.entries(listeners)) subscribe(name, listener);

  return {
    registry,
    scrape: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
    close() {
      for (const [name, listener] of Object.entries(listeners)) unsubscribe(name, listener);
      for (const name of Object.values(NAMES)) registry.removeSingleMetric(name);
    },
  };
}

/** A label that stays low-cardinality: an error's `code` (ECONNREFUSED…) or its class name. */
function errorKind(error: unknown): string {
  if (typeof error !== 'object' || error === null) return typeof error;
  const { code } = error as { code?: unknown };
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : 'unknown';
}
