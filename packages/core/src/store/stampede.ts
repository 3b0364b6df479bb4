import { setImmediate, setTimeout as sleep } from 'node:timers/promises';
import { toMilliseconds, type Duration } from '../duration.js';
import type { ErrorReporter } from '../report.js';
import { checkKnownKeys, describe } from '../validate.js';
import { storeLog } from './redis/debug.js';
import {
  LEASE_TTL_MS,
  type CacheStore,
  type Lease,
  type Lookup,
  type ReadOptions,
} from './types.js';

// Stampede protection across instances, in the lease style of Facebook's memcache: a miss takes
// the key's fill lock in the same round trip as the read (CacheStore.getOrLease with `lock`), and
// a miss that finds the lock held elsewhere waits and reads again, until the value is there, the
// lock is free (that read takes it: one waiter becomes the next holder), its holder ended without
// a value (everyone computes at once), or the wait is over (it computes itself). The lock lives
// `wait` ms, so a holder that died costs the others at most that. Every read is a normal read,
// versions checked: nothing stale is ever served, and whoever computes stores under its own lease.
// `wrap` and the HTTP cache both read through here; in a process, one request per key waits and
// the others share its outcome or the in-process flight.

/** How long a miss waits for another instance's value by default (and a fill lock lives). */
export const STAMPEDE_WAIT_MS = 5000;
/** The first pause between reads while waiting; it doubles up to {@link MAX_POLL_MS}. */
const FIRST_POLL_MS = 10;
const MAX_POLL_MS = 100;

/** How the `stampede` option waits for another instance's value. */
export interface StampedeOptions {
  /**
   * How long a miss waits for another instance that is computing the key (seconds, or a string
   * such as `'500ms'`), before computing it itself; also how long that instance's fill lock lives,
   * so the most a holder that died keeps the others waiting. At most two minutes.
   * @default '5s'
   */
  wait?: Duration;
}

/**
 * The `stampede` option in milliseconds to wait, `false` when off, `undefined` when not set.
 * Throws a TypeError naming the option.
 */
export function resolveStampede(name: string, value: unknown): number | false | undefined {
  if (value === undefined || typeof value === 'boolean') {
    return value === true ? STAMPEDE_WAIT_MS : value;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${name} must be true, false or { wait }, got ${describe(value)}`);
  }
  checkKnownKeys(name, value, ['wait']);
  const { wait } = value as { wait?: Duration };
  return toMilliseconds(`${name}.wait`, wait, LEASE_TTL_MS) ?? STAMPEDE_WAIT_MS;
}

/** A read through {@link Stampede.read}. */
export type FillRead = Lookup & {
  /** The read waited for another caller to fill the key. */
  waited?: boolean;
};

/** How a wait ended, for the debug log. */
type WaitEnd = 'value' | 'lock taken' | 'passed' | 'no lock' | 'timed out' | 'read failed';

/** One cache's reads with stampede protection (the HTTP engine and each DataCache own one). */
export class Stampede {
  readonly #store: CacheStore;
  readonly #report: ErrorReporter;
  /** The wait in progress per key: one request per key and process reads again. */
  readonly #waits = new Map<string, Promise<Lookup>>();

  constructor(store: CacheStore, report: ErrorReporter) {
    this.#store = store;
    this.#report = report;
  }

  /**
   * Reads `key` as `getOrLease` does (`valueNeeded` as there) and, with a `wait` (ms), takes its
   * fill lock on a miss. If another caller holds the lock and `led()` says no request of this
   * process is computing the key already, waits for that caller's value (see the top of this file). Only the request that
   * waited gets the final read's lease (and the lock it may hold); others of this process that
   * waited with it get its value, or a miss without a lease. Rejects only if the store throws.
   */
  async read(
    key: string,
    tags: readonly string[],
    wait: number | false,
    led: () => boolean,
    valueNeeded?: ReadOptions['valueNeeded'],
  ): Promise<FillRead> {
    const lock = wait !== false && this.#store.release ? wait : undefined;
    const options = lock === undefined && !valueNeeded ? undefined : { lock, valueNeeded };
    const first = await this.#store.getOrLease(key, tags, options);
    if (lock === undefined || first.lock?.state !== 'busy') return first;
    // The holder may be this process's own request whose read came just before this one: its
    // flight starts once the reads' callbacks ran.
    await setImmediate();
    if (led()) return first;
    const running = this.#waits.get(key);
    if (running) {
      const { entry } = await running;
      return { entry, lease: undefined, waited: true };
    }
    const waiting = this.#wait(key, tags, lock, first.lock);
    this.#waits.set(key, waiting);
    try {
      return { ...(await waiting), waited: true };
    } finally {
      if (this.#waits.get(key) === waiting) this.#waits.delete(key);
    }
  }

  /**
   * Releases the fill lock `lease` holds, if any (after a store, the store did already). Never
   * rejects: store trouble goes to the reporter.
   */
  release(lease: Lease | undefined): Promise<void> {
    if (!lease || !this.#store.release) return Promise.resolve();
    try {
      return this.#store.release(lease).catch(this.#report);
    } catch (err) {
      this.#report(err);
      return Promise.resolve();
    }
  }

  /**
   * A flight's `settle` that also releases its leader's fill lock, and hands the release to
   * `track` (so closing waits for it).
   */
  settling<T>(
    settle: (result: T | undefined) => void,
    lease: Lease | undefined,
    track: (work: Promise<void>) => void,
  ): (result: T | undefined) => void {
    return (result) => {
      settle(result);
      track(this.release(lease));
    };
  }

  /** Reads again with a short backoff until the wait ends; see the top of this file. */
  async #wait(
    key: string,
    tags: readonly string[],
    wait: number,
    busy: { holder: string; expiresIn: number },
  ): Promise<Lookup> {
    const started = performance.now();
    const left = (ms: number): number => (ms >= 0 ? Math.min(ms, wait) : wait);
    let { holder } = busy;
    let lockEnds = started + left(busy.expiresIn);
    let deadline = started + wait;
    let followed = false;
    let pause = FIRST_POLL_MS;
    for (;;) {
      const now = performance.now();
      // Read again after the pause, or just after the holder's lock runs out, or at the deadline.
      await sleep(Math.max(1, Math.min(now + pause, lockEnds + 1, deadline) - now));
      pause = Math.min(pause * 2, MAX_POLL_MS);
      let read: Lookup;
      try {
        read = await this.#store.getOrLease(key, tags, { lock: wait });
      } catch (err) {
        this.#report(err);
        return this.#ended({ entry: undefined, lease: undefined }, 'read failed', started);
      }
      const { lock } = read;
      if (read.entry) return this.#ended(read, 'value', started);
      if (lock?.state !== 'busy') {
        const how = !lock ? 'no lock' : lock.state === 'taken' ? 'lock taken' : 'passed';
        return this.#ended(read, how, started);
      }
      const at = performance.now();
      if (lock.holder !== holder) {
        // The lock ran out (its holder died, or is slow) and another waiter took it over: this
        // one waits for the new holder too, but for one only, so a wait ends within 2 × wait.
        if (!followed) deadline = Math.max(deadline, at + left(lock.expiresIn));
        followed = true;
        holder = lock.holder;
      }
      lockEnds = at + left(lock.expiresIn);
      if (at >= deadline) return this.#ended(read, 'timed out', started);
    }
  }

  #ended(read: Lookup, how: WaitEnd, started: number): Lookup {
    storeLog('stampede: waited %d ms for another caller: %s', performance.now() - started, how);
    return read;
  }
}
