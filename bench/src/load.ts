import type { EventEmitter } from 'node:events';
import autocannon from 'autocannon';
import { percentile } from './stats.js';

/** What one load window measured from the client's side. */
export interface LoadResult {
  /** Responses received. */
  responses: number;
  /** Seconds under load. */
  seconds: number;
  /** Latency percentiles of 2xx responses, in milliseconds. */
  p50: number;
  p99: number;
  /** Responses that were not 2xx, and connection errors (timeouts included). */
  non2xx: number;
  errors: number;
}

/**
 * Puts `url` under load for `seconds` with `connections` keep-alive connections. `[<id>]` in the
 * URL becomes a new unique id in every request. Latencies are taken from each response's own
 * timing (autocannon's histogram rounds to whole milliseconds, too coarse for cache hits).
 */
export function load(url: string, seconds: number, connections: number): Promise<LoadResult> {
  const latencies: number[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        duration: seconds,
        idReplacement: url.includes('[<id>]'),
        // autocannon stops at its next sample tick (every second by default): a short window would
        // last a whole second.
        sampleInt: 50,
      },
      (err, result) => {
        if (err) return reject(err as Error);
        const sorted = Float64Array.from(latencies).sort();
        resolve({
          responses: result.requests.total,
          seconds: result.duration,
          p50: percentile(sorted, 0.5),
          p99: percentile(sorted, 0.99),
          non2xx: result.non2xx,
          errors: result.errors,
        });
      },
    );
    // autocannon 9 emits (client, status, bytes, ms); @types/autocannon still says (status, …).
    (instance as EventEmitter).on(
      'response',
      (_client: unknown, status: number, _bytes: number, ms: number) => {
        if (status >= 200 && status < 300) latencies.push(ms);
      },
    );
  });
}
