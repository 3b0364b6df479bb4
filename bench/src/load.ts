import type { EventEmitter } from 'node:events';
import autocannon from 'autocannon';

/** What load runs against one URL measured; runs add up with {@link addLoad}. */
export interface Load {
  /** Responses received. */
  requests: number;
  /** Seconds under load. */
  seconds: number;
  /** Latency of every 2xx response, in milliseconds. */
  latencies: number[];
  /** Responses that were not 2xx, and connection errors (timeouts included). */
  non2xx: number;
  errors: number;
}

/** An empty {@link Load}. */
export function emptyLoad(): Load {
  return { requests: 0, seconds: 0, latencies: [], non2xx: 0, errors: 0 };
}

/** Adds `more` to `total` in place. */
export function addLoad(total: Load, more: Load): void {
  total.requests += more.requests;
  total.seconds += more.seconds;
  for (const ms of more.latencies) total.latencies.push(ms);
  total.non2xx += more.non2xx;
  total.errors += more.errors;
}

/** Requests per second and latency percentiles (milliseconds) of a {@link Load}. */
export function summarize(load: Load): { rps: number; p50: number; p99: number } {
  const sorted = Float64Array.from(load.latencies).sort();
  return {
    rps: load.requests / load.seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
  };
}

/**
 * Puts `url` under load for `seconds` with `connections` keep-alive connections. Latencies are
 * taken from each response's own timing (autocannon's histogram rounds to whole milliseconds,
 * too coarse for cache hits).
 */
export function load(url: string, seconds: number, connections: number): Promise<Load> {
  const latencies: number[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon({ url, connections, duration: seconds }, (err, result) => {
      if (err) return reject(err as Error);
      resolve({
        requests: result.requests.total,
        seconds: result.duration,
        latencies,
        non2xx: result.non2xx,
        errors: result.errors,
      });
    });
    // autocannon 9 emits (client, status, bytes, ms); @types/autocannon still says (status, …).
    (instance as EventEmitter).on(
      'response',
      (_client: unknown, status: number, _bytes: number, ms: number) => {
        if (status >= 200 && status < 300) latencies.push(ms);
      },
    );
  });
}

/** Nearest-rank percentile of sorted values; NaN for none. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}
