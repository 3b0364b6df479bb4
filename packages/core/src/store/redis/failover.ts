import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ErrorReporter } from '../../report.js';
import { waitForReady } from './connection.js';
import { errorText, storeLog } from './debug.js';
import { encodeString } from './encoding.js';
import { invalidateScopes } from './invalidation.js';
import { bucketOf, markKey, metadataName, type Scopes } from './layout.js';
import { WriteJournal } from './journal.js';
import { DELETE, runScript } from './scripts.js';
import { REPLAY_WINDOW_MS, serverId, SETTLE_MS, type SentinelOptions } from './sentinel.js';

/** How long a write waits for the new master while the store is moving to it. */
const SWITCH_WAIT_MS = 1000;
/** Write marks are sent at most this often, and only after writes. */
const MARK_MS = 250;
/** Pause before a recovery that failed on a live connection is tried again. */
const RETRY_MS = 200;
/** Keys deleted concurrently by a replay, and tags per invalidation script. */
const BATCH = 100;

/** What a {@link FailoverGuard} needs from its store. */
export interface GuardContext {
  prefix: string;
  scopes: Scopes;
  report: ErrorReporter;
  /** Drops the local tier: nothing read before the move can be vouched for. */
  flush(): void;
}

/**
 * Keeps a store on Redis Sentinel correct across a change of master. Sentinel replicates
 * asynchronously and does not stop the old master when it promotes a replica: what the old
 * master acknowledges until its clients leave is lost, an invalidation included, and the new
 * master would go on serving entries it should have removed. So the guard
 * - journals the keys the store wrote (set or deleted) and the tags it invalidated, names only,
 *   each with the time its write completed;
 * - marks its progress in Redis: after writes, at most every {@link MARK_MS}, it sets its own
 *   `mark:<id>` key to a new number. Replication keeps the master's order, so a server that holds
 *   mark n holds every write completed before mark n was sent;
 * - when the connection drops, flushes the local tier, makes gets miss without asking Redis, and
 *   lets writes wait briefly for the next master instead of failing at once;
 * - once connected again, reads its mark there and writes again what completed since that mark was
 *   sent (since `replayWindowMs` before the drop when the server has no mark of ours), as
 *   deletions of those keys and invalidations of those tags: an entry set in the window is lost or
 *   removed, never older than what was acknowledged; an invalidation is never lost;
 * - then lets gets through after `settleMs`, the time other app instances, told of the failover
 *   by the same sentinels at the same moment, need to replay theirs.
 * It also learns which server the connection reached (its run id), so that tracking is only used
 * through connections on that same server.
 */
export class FailoverGuard {
  readonly #client: Redis;
  readonly #context: GuardContext;
  readonly #journal = new WriteJournal();
  readonly #windowMs: number;
  readonly #settleMs: number;
  readonly #timer: NodeJS.Timeout;
  readonly #markKey = markKey(randomUUID());
  /** Marks sent within the window: number → when. */
  readonly #marks = new Map<number, number>();
  #lastMark = 0;
  #lastMarkAt = -Infinity;
  #lastWriteAt = -Infinity;
  /** Replay from this time on if the next server holds no mark of ours; unset: nothing pending. */
  #pendingSince: number | undefined;
  /** Gets go to Redis again from this time on (with nothing pending). */
  #readableAt = 0;
  /** Run id of the server the connection is on, once known. */
  #server: string | undefined;
  /** Counts connections, so that a recovery overtaken by a newer drop gives up. */
  #generation = 0;
  #switching: { ready: Promise<void>; end(): void } | undefined;
  /** Connected (ready) since the last drop. */
  #up = false;
  #closed = false;

  constructor(client: Redis, options: SentinelOptions | undefined, context: GuardContext) {
    this.#client = client;
    this.#context = context;
    this.#windowMs = options?.replayWindowMs ?? REPLAY_WINDOW_MS;
    this.#settleMs = options?.settleMs ?? SETTLE_MS;
    client.on('close', this.#onClose);
    client.on('ready', this.#onReady);
    if (client.status === 'ready') this.#onReady();
    this.#timer = setInterval(() => this.#tick(), MARK_MS);
    this.#timer.unref();
  }

  /** Whether a get may ask Redis (or the local tier) now. */
  get readable(): boolean {
    return (
      this.#pendingSince === undefined && performance.now() >= this.#readableAt && !this.#ending()
    );
  }

  /** The run id of the server the store's connection is on, when known. */
  get server(): string | undefined {
    return this.#server;
  }

  /** While moving to a new master: resolves once connected, or after a short wait. */
  get switching(): Promise<void> | undefined {
    if (!this.#switching && this.#ending()) {
      storeLog('Sentinel switch: the connection to the old master is ending, writes wait');
      this.#startSwitch();
    }
    return this.#switching?.ready;
  }

  /** A set or delete of `key` completed (or failed: it may have happened all the same). */
  wroteKey(key: string): void {
    this.#lastWriteAt = performance.now();
    this.#journal.key(key, this.#lastWriteAt);
  }

  /** An invalidation of `tags` completed (or failed). */
  invalidated(tags: readonly string[]): void {
    this.#lastWriteAt = performance.now();
    this.#journal.tags(tags, this.#lastWriteAt);
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#client.off('close', this.#onClose);
    this.#client.off('ready', this.#onReady);
    this.#switching?.end();
  }

  #onClose = (): void => {
    // ioredis emits 'close' after every failed reconnection attempt too: only the first drop
    // after a connection starts a switch.
    if (!this.#up) return;
    this.#up = false;
    this.#generation++;
    storeLog(
      'Sentinel: connection to master %s lost (a failover?): gets miss and writes wait until ' +
        'the next master has the recent writes replayed',
      this.#server ?? '(unknown)',
    );
    this.#server = undefined;
    // Keep the earliest point of a recovery that has not completed yet.
    this.#pendingSince ??= performance.now() - this.#windowMs;
    this.#context.flush();
    if (!this.#switching) this.#startSwitch();
  };

  /**
   * Whether the connection is being ended (the failover detector heard of a new master) but has
   * not closed yet: a command sent now would fail at once ("Stream isn't writeable").
   */
  #ending(): boolean {
    return this.#up && this.#client.stream?.writable === false;
  }

  #startSwitch(): void {
    const wait = waitForReady(this.#client, SWITCH_WAIT_MS);
    this.#switching = wait;
    void wait.ready.then(() => {
      if (this.#switching === wait) this.#switching = undefined;
    });
  }

  #onReady = (): void => {
    this.#up = true;
    void this.#recover(++this.#generation);
  };

  async #recover(generation: number): Promise<void> {
    const current = (): boolean => !this.#closed && generation === this.#generation;
    try {
      const [server, mark] = await Promise.all([
        serverId(this.#client),
        this.#client.get(this.#markKey),
      ]);
      const pending = this.#pendingSince;
      if (pending !== undefined) {
        const marked = this.#marks.get(Number(mark));
        const from =
          marked === undefined ? 'no mark of ours: the whole window' : `our mark ${mark}`;
        await this.#replay(marked ?? pending, `master ${server} (${from})`);
      }
      if (!current()) return;
      this.#server = server;
      this.#pendingSince = undefined;
      this.#readableAt = pending === undefined ? 0 : performance.now() + this.#settleMs;
      if (pending === undefined) {
        storeLog('Sentinel: connected to master %s', server);
      } else {
        storeLog(
          'Sentinel: on master %s; gets miss for %d ms more (settleMs)',
          server,
          this.#settleMs,
        );
      }
      this.#context.flush();
    } catch (err) {
      if (!current()) return;
      storeLog('Sentinel: recovery failed (%s), retried if connected', errorText(err));
      this.#context.report(err);
      if (this.#client.status === 'ready') {
        setTimeout(() => {
          if (current()) void this.#recover(generation);
        }, RETRY_MS).unref();
      }
    }
  }

  /** `where` only names the replay in the log. */
  async #replay(since: number, where: string): Promise<void> {
    const { keys, tags, forgotten } = this.#journal.since(since);
    const { prefix, scopes } = this.#context;
    const started = performance.now();
    storeLog(
      'Sentinel: %s: replaying %d keys and %d tags written in the last %d ms',
      where,
      keys.length,
      tags.length,
      Math.round(started - since),
    );
    if (forgotten) {
      this.#context.report(
        new Error('write journal full: writes from before the failover were not replayed'),
      );
    }
    for (let i = 0; i < keys.length; i += BATCH) {
      await Promise.all(
        keys.slice(i, i + BATCH).map((key) => {
          const bucket = bucketOf(key);
          return runScript(
            this.#client,
            DELETE,
            [metadataName(key, bucket)],
            [prefix, bucket, scopes.of(bucket), encodeString(key)],
          );
        }),
      );
    }
    for (let i = 0; i < tags.length; i += BATCH) {
      const batch = tags.slice(i, i + BATCH).map(encodeString);
      await invalidateScopes(this.#client, prefix, scopes, batch);
    }
    storeLog(
      'Sentinel: replay done: %d keys deleted, %d tags invalidated (%d ms)',
      keys.length,
      tags.length,
      Math.round(performance.now() - started),
    );
  }

  #tick(): void {
    const now = performance.now();
    const keepSince = this.#pendingSince ?? now - this.#windowMs;
    this.#journal.prune(keepSince);
    for (const [n, at] of this.#marks) {
      if (at >= keepSince || n === this.#lastMark) break;
      this.#marks.delete(n);
    }
    if (!this.#up || this.#pendingSince !== undefined || this.#lastWriteAt < this.#lastMarkAt) {
      return;
    }
    const n = ++this.#lastMark;
    this.#lastMarkAt = now;
    this.#marks.set(n, now);
    // A mark that fails only makes the next replay reach further back.
    this.#client
      .set(this.#markKey, n, 'PX', Math.max(2 * this.#windowMs, 60_000))
      .catch(() => undefined);
  }
}
