import type { Cluster, Redis, RedisOptions } from 'ioredis';
import type { RedisCacheStoreOptions } from './options.js';
import { checkInteger, checkKnownKeys, checkObject, describe } from '../../validate.js';

// Redis Sentinel: how the store finds the master, and how quickly it notices a new one.

/** The `sentinel` option: where the store finds its master, and how it follows failovers. */
export type SentinelOptions = NonNullable<RedisCacheStoreOptions['sentinel']>;

/** The default of `sentinel.replayWindowMs`. */
export const REPLAY_WINDOW_MS = 15_000;
/** The default of `sentinel.settleMs`. */
export const SETTLE_MS = 500;

/**
 * Connection defaults added to {@link RESILIENT_DEFAULTS} when the store finds its master through
 * Sentinel: every connection it opens (the tracking reader and subscriber too) subscribes to the
 * sentinels' `+switch-master` and reconnects at once to the new master (ioredis's
 * `failoverDetector`; without it ioredis keeps using the old master until Sentinel demotes it,
 * 10 s or more later, and what it acknowledged meanwhile is lost). Reconnection backs off to
 * 500 ms rather than 2 s, so a store is back soon after a crashed master's replica is promoted;
 * a sentinel connection that drops is retried within seconds rather than ioredis's minute.
 */
export const RESILIENT_SENTINEL_DEFAULTS = {
  /** Subscribe to every sentinel's `+switch-master` and reconnect when one is announced. */
  failoverDetector: true,
  /** Reconnect after 100, 200, 400 ms, then every 500 ms. */
  retryStrategy: (times: number): number => Math.min(50 * 2 ** times, 500),
  /** Reconnect a lost failover-detector connection to a sentinel after 0.5, 1, … at most 5 s. */
  sentinelReconnectStrategy: (times: number): number => Math.min(500 * times, 5000),
  /** A sentinel that does not answer within 500 ms is passed over for the next one. */
  sentinelCommandTimeout: 500,
} satisfies RedisOptions;

/** Whether `conn` finds its master through Sentinel. */
export function isSentinel(conn: Redis | Cluster): conn is Redis {
  const { sentinels } = conn.options as RedisOptions;
  return Array.isArray(sentinels) && sentinels.length > 0;
}

const KNOWN = ['sentinels', 'name', 'replayWindowMs', 'settleMs'] as const;

/** Throws a TypeError naming the first bad `sentinel` option. */
export function checkSentinel(sentinel: SentinelOptions | undefined): void {
  checkObject('sentinel', sentinel);
  if (sentinel === undefined) return;
  checkKnownKeys('sentinel', sentinel, KNOWN);
  const { sentinels, name } = sentinel;
  if (!Array.isArray(sentinels) || sentinels.length === 0) {
    throw new TypeError(`sentinel.sentinels must be a non-empty array, got ${describe(sentinels)}`);
  }
  sentinels.forEach((address, i) => {
    checkObject(`sentinel.sentinels[${i}]`, address);
    if (address === undefined) throw new TypeError(`sentinel.sentinels[${i}] must be an object`);
    if (address.host !== undefined && typeof address.host !== 'string') {
      throw new TypeError(
        `sentinel.sentinels[${i}].host must be a string, got ${describe(address.host)}`,
      );
    }
    checkInteger(`sentinel.sentinels[${i}].port`, address.port, 1);
  });
  if (typeof name !== 'string' || name === '') {
    throw new TypeError(`sentinel.name must be a non-empty string, got ${describe(name)}`);
  }
  checkInteger('sentinel.replayWindowMs', sentinel.replayWindowMs);
  checkInteger('sentinel.settleMs', sentinel.settleMs);
}

/**
 * The identity of the server `conn` is connected to (its run id, new for every process), to tell
 * whether two connections reached the same server while Sentinel moves the master.
 */
export async function serverId(conn: Redis): Promise<string> {
  let info: string;
  try {
    info = String(await conn.info('server'));
  } catch (err) {
    // A user whose ACL forbids INFO: every server then looks the same, as without Sentinel.
    if (err instanceof Error && err.message.startsWith('NOPERM')) return '';
    throw err;
  }
  const id = /^run_id:(\w+)/m.exec(info)?.[1];
  if (id === undefined) throw new Error('INFO server has no run_id');
  return id;
}

/** Pause before a connection ioredis ended by mistake is connected again. */
const REVIVE_MS = 100;

/**
 * Connects `conn` again when ioredis ends it for good in the middle of a connection attempt:
 * ioredis does that when the attempt is told to stop, and a failover detector left subscribed
 * from the previous connection (the master died) tells it to when the sentinels announce the new
 * master during a reconnection. Only that path (connecting, then end without close) is undone;
 * a connection ended by `quit()`, `disconnect()` or a retry strategy giving up stays ended, and
 * so does one ended while `closing()` says the owner is closing it.
 */
export function keepConnected(conn: Redis, closing: () => boolean): void {
  let connecting = false;
  conn.on('connecting', () => (connecting = true));
  conn.on('close', () => (connecting = false));
  conn.on('end', () => {
    if (!connecting || closing()) return;
    connecting = false;
    setTimeout(() => {
      if (!closing() && conn.status === 'end') conn.connect().catch(() => undefined);
    }, REVIVE_MS).unref();
  });
}
