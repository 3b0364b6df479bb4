import type { Redis, RedisOptions } from 'ioredis';
import { quit } from './connection.js';
import { errorText, nodeName, trackingLog } from './debug.js';
import { RESILIENT_DEFAULTS } from './options.js';
import { keepConnected, serverId } from './sentinel.js';

const CHANNEL = '__redis__:invalidate';

/** How often trackers verify that their connections and redirect are still in place. */
export const HEALTH_CHECK_MS = 1000;
/** How soon a tracker waiting to learn its store's server looks again. */
const EXPECTED_POLL_MS = 50;

/**
 * RESP2 for tracker connections, whatever the client they copy speaks. ioredis 6 speaks RESP3 by
 * default, and Redis sends a RESP3 redirect target its invalidations as `invalidate` push frames,
 * which ioredis 6 drops (it emits only pub/sub pushes): the local tier would silently stop hearing
 * of other instances' writes. Over RESP2 they are messages on `__redis__:invalidate`, which every
 * ioredis emits. `replyMapping: 'resp3'` would make ioredis 6 refuse `protocol: 2`; HIMPORT field
 * sets prepare commands these connections never send (ioredis drops them from its own MONITOR
 * duplicates too). ioredis 5 knows none of these options, ignores them, and speaks only RESP2.
 */
const RESP2 = { protocol: 2, replyMapping: 'legacy', himportFieldsets: undefined } as const;

/**
 * Tracker connections keep the store's settings but speak RESP2, never queue, never resubscribe
 * alone and never auto-pipeline (their few commands must run in the order sent, CLIENT TRACKING
 * before SUBSCRIBE; and ioredis crashes on `call()` under auto-pipelining).
 */
export function trackerOptions(
  base: RedisOptions,
  role: 'reader' | 'invalidations',
): RedisOptions & typeof RESP2 {
  return {
    commandTimeout: base.commandTimeout ?? RESILIENT_DEFAULTS.commandTimeout,
    enableOfflineQueue: false,
    autoResubscribe: false,
    enableAutoPipelining: false,
    connectionName: `${base.connectionName ?? 'restash'}:${role}`,
    ...RESP2,
  };
}

/** What a {@link Tracker} reports to its store. */
export interface TrackerListener {
  /** Keys (raw names, keyPrefix included) Redis says changed; `null` means everything (FLUSHALL). */
  invalidate(keys: Buffer[] | null): void;
  /** Tracking broke or a connection dropped: nothing cached through it can be vouched for. */
  reset(): void;
  error(err: unknown): void;
}

/**
 * CLIENT TRACKING against one Redis node, in the two-connection (REDIRECT) mode that RESP2 needs:
 * `reader` runs tracked reads, `sub` receives the `__redis__:invalidate` messages.
 *
 * The reader runs nothing but the get script, so the default mode tracks exactly what OPTIN with
 * CLIENT CACHING yes before each read would, one command cheaper per cold read. Tag versions are
 * read inside that script without being declared, so they are followed another way: `sub` itself
 * tracks the version prefix in broadcasting mode (BCAST, redirected to itself), and hears of every
 * version an invalidation deletes, whether or not this process read it.
 *
 * Over RESP2 Redis never says that the redirect target went away, so the tracker watches both
 * connections itself: every close resets (the store flushes its local tier), and a health check
 * pings `sub` and verifies the reader still redirects to it.
 */
export class Tracker {
  readonly reader: Redis;
  readonly #sub: Redis;
  readonly #listener: TrackerListener;
  readonly #timer: NodeJS.Timeout;
  /** CLIENT ID of `sub` once it is subscribed; cleared when it drops. */
  #subId: number | undefined;
  /** With Sentinel: the server `sub` subscribed on, and the one `reader` was wired on. */
  #subServer: string | undefined;
  #server: string | undefined;
  readonly #expected: (() => string | undefined) | undefined;
  #ready = false;
  #establishing = false;
  #closed = false;
  /** Connections that became ready and have not closed since: a close of one is a drop. */
  readonly #up = new Set<Redis>();
  /** The node, as log lines name it. */
  readonly #node: string;

  readonly #versionPrefix: string;

  /**
   * `connect` opens a connection to this tracker's node with the store's options;
   * `versionPrefix` is where tag versions live (keyPrefix included). With Sentinel, each
   * connection finds the master on its own, so for a while they may reach different servers:
   * `expected` says which server the store's own connection is on (see {@link Tracker.server}).
   */
  constructor(
    connect: (role: 'reader' | 'invalidations') => Redis,
    listener: TrackerListener,
    healthCheckMs: number,
    versionPrefix: string,
    expected?: () => string | undefined,
  ) {
    this.#listener = listener;
    this.#versionPrefix = versionPrefix;
    this.#expected = expected;
    this.reader = connect('reader');
    this.#sub = connect('invalidations');
    this.#node = nodeName(this.reader);
    if (expected) {
      for (const conn of [this.reader, this.#sub]) keepConnected(conn, () => this.#closed);
    }
    this.#sub.on('messageBuffer', (_channel: Buffer, message: unknown) => this.#onMessage(message));
    for (const conn of [this.reader, this.#sub]) {
      const role = conn === this.#sub ? 'invalidations' : 'reader';
      conn.on('error', (err: unknown) => this.#error(err));
      conn.on('ready', () => {
        this.#up.add(conn);
        void this.#establish();
      });
      conn.on('close', () => {
        // ioredis also emits 'close' after every failed reconnection attempt: not news.
        const dropped = this.#up.delete(conn);
        this.#reset(conn === this.#sub, dropped ? `${role} connection dropped` : undefined);
      });
    }
    this.#timer = setInterval(() => void this.#check(), healthCheckMs);
    this.#timer.unref();
  }

  /** Whether a read sent now on `reader` is tracked. */
  get ready(): boolean {
    return this.#ready;
  }

  /**
   * With `expected`: the server (run id) both connections were on when tracking was wired. A
   * connection that moves to another server drops first, so this holds while `ready` does.
   */
  get server(): string | undefined {
    return this.#server;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    trackingLog('%s: tracking closed', this.#node);
    this.#reset(true, undefined);
    await Promise.all([quit(this.reader), quit(this.#sub)]);
  }

  async #establish(): Promise<void> {
    if (this.#closed || this.#ready || this.#establishing) return;
    if (this.reader.status !== 'ready' || this.#sub.status !== 'ready') return;
    this.#establishing = true;
    try {
      if (this.#subId === undefined) {
        // CLIENT commands (and INFO) must come before SUBSCRIBE: a RESP2 subscriber cannot run
        // them.
        const subServer = this.#expected ? await serverId(this.#sub) : undefined;
        const id = (await this.#sub.client('ID')) as number;
        await this.#sub.call(
          'CLIENT',
          'TRACKING',
          'ON',
          'REDIRECT',
          id,
          'BCAST',
          'PREFIX',
          this.#versionPrefix,
        );
        await this.#sub.subscribe(CHANNEL);
        this.#subId = id;
        this.#subServer = subServer;
        trackingLog(
          '%s: tracking established: invalidations to client %d, tag versions under %s',
          this.#node,
          id,
          this.#versionPrefix,
        );
      }
      const subId = this.#subId;
      if (this.#expected) {
        const expected = this.#expected();
        if (expected === undefined) {
          // The store is still learning where its own connection is: soon.
          setTimeout(() => void this.#establish(), EXPECTED_POLL_MS).unref();
          return;
        }
        // A redirect to a client id of another server would reach some other client, or none.
        const server = await serverId(this.reader);
        if (server !== this.#subServer || server !== expected) {
          throw new Error('tracking connections are not on the master the store uses (yet)');
        }
        this.#server = server;
      }
      await this.reader.client('TRACKING', 'ON', 'REDIRECT', subId);
      // Only if nothing dropped meanwhile is the redirect we just set still the live one.
      if (!this.#closed && this.#subId === subId && this.reader.status === 'ready') {
        this.#ready = true;
        const on = this.#server === undefined ? '' : ` on server ${this.#server}`;
        trackingLog('%s: tracking ready%s: reads redirect to client %d', this.#node, on, subId);
      }
    } catch (err) {
      if (!this.#closed)
        trackingLog('%s: tracking not established: %s', this.#node, errorText(err));
      this.#error(err);
    } finally {
      this.#establishing = false;
    }
  }

  /** Re-establishes when idle, and verifies a ready tracker is really still wired. */
  async #check(): Promise<void> {
    if (!this.#ready) return this.#establish();
    try {
      const [, info] = await Promise.all([
        this.#sub.ping(),
        this.reader.call('CLIENT', 'TRACKINGINFO') as Promise<unknown[]>,
      ]);
      const redirect = info[info.indexOf('redirect') + 1];
      if (redirect !== this.#subId)
        throw new Error(`tracking redirects to ${String(redirect)}, not ${this.#subId}`);
    } catch (err) {
      if (this.#closed) return;
      this.#error(err);
      this.#reset(true, `health check failed: ${errorText(err)}`);
      // A half-open subscriber hears nothing; reconnecting gets a new, verifiable one.
      this.#sub.disconnect(true);
    }
  }

  /** Errors after close() are the shutdown itself, not news. */
  #error(err: unknown): void {
    if (!this.#closed) this.#listener.error(err);
  }

  /** `why` names the event for the log; `undefined`: nothing worth a line (already said). */
  #reset(subscriberLost: boolean, why: string | undefined): void {
    if (subscriberLost) this.#subId = undefined;
    const wasReady = this.#ready;
    this.#ready = false;
    if (why !== undefined && !this.#closed) {
      const outcome = wasReady ? 'tracking reset' : 'tracking was not ready';
      trackingLog('%s: %s (%s)', this.#node, why, outcome);
    }
    // Only reads made while ready can fill the local tier, and this is the moment they stop
    // being vouched for; a tracker that was not ready has nothing more to take back (so a node
    // that stays down does not flush the tier at every reconnection attempt).
    if (wasReady) this.#listener.reset();
  }

  #onMessage(message: unknown): void {
    if (message === null) {
      trackingLog('%s: FLUSHALL or FLUSHDB: everything is invalidated', this.#node);
      return this.#listener.invalidate(null);
    }
    const keys = (Array.isArray(message) ? message : [message]) as unknown[];
    this.#listener.invalidate(
      keys.map((key) => (Buffer.isBuffer(key) ? key : Buffer.from(String(key)))),
    );
  }
}
