import createDebug from 'debug';
import type { Redis } from 'ioredis';

// `DEBUG=restash:store` and `DEBUG=restash:tracking` narrate what the Redis store does on its
// own: state changes that are not errors, so `errorCallback` never hears of them, yet explain why
// the local tier emptied or gets missed for a while. Both are off unless DEBUG names them (`debug`
// reads it when it loads); arguments costlier than a string wait behind `log.enabled`.

/** Store-level events: Sentinel failovers, replays of recent writes, reads paused meanwhile. */
export const storeLog = createDebug('restash:store');

/**
 * Tracking state: trackers established and ready, resets and why, health checks, local tier
 * flushes, cluster slot maps.
 */
export const trackingLog = createDebug('restash:tracking');

/** How log lines name the server `conn` talks to: its address, or the master Sentinel finds. */
export function nodeName(conn: Redis): string {
  const { sentinels, name, path, host, port } = conn.options;
  if (sentinels && sentinels.length > 0) return `master ${name ?? '?'} (Sentinel)`;
  return path ?? `${host ?? 'localhost'}:${port ?? 6379}`;
}

/** An error's message, for a log line (its stack goes to `errorCallback`). */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
