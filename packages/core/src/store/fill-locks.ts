import type { Lookup } from './types.js';

// Fill locks (stampede protection): on a miss, one caller takes the key's lock and computes the
// value; the others wait for it (stampede.ts). A lock is a token with an expiry, so a holder that
// dies costs the others at most that long. The Redis store keeps them in Redis (scripts.ts); this
// is the in-memory store's table, with the same rules.

/**
 * How long the marker a holder leaves when it ends without storing a value lives, in ms: long
 * enough for every waiter's next read (they read at least every 100 ms) to see that there is
 * nothing to wait for, and compute at once instead of queueing for the lock one after another.
 */
export const PASSED_MS = 1000;

/** A lock's state as a read reports it. */
export type LockState = NonNullable<Lookup['lock']>;

/** Expired locks are swept once this many were taken since the last sweep. */
const SWEEP_EVERY = 1000;

/** The fill locks of one in-memory store: key → holder's token ('' for the passed marker). */
export class FillLocks {
  readonly #locks = new Map<string, { token: string; until: number }>();
  #issued = 0;

  /** Takes `key`'s lock for `ms` unless it is held; says how it found it (and the new token). */
  take(key: string, ms: number): { state: LockState; token?: string } {
    const now = performance.now();
    const held = this.#held(key, now);
    if (held?.token === '') return { state: { state: 'passed' } };
    if (held) {
      const expiresIn = Math.ceil(held.until - now);
      return { state: { state: 'busy', holder: held.token, expiresIn } };
    }
    if (++this.#issued % SWEEP_EVERY === 0) this.#sweep(now);
    const token = String(this.#issued);
    this.#locks.set(key, { token, until: now + ms });
    return { state: { state: 'taken' }, token };
  }

  /**
   * Ends `token`'s hold on `key`, if it still holds it: removed once a value was stored (or
   * refused), else replaced by the passed marker.
   */
  end(key: string, token: string, stored: boolean): void {
    const now = performance.now();
    if (this.#held(key, now)?.token !== token) return;
    if (stored) this.#locks.delete(key);
    else this.#locks.set(key, { token: '', until: now + PASSED_MS });
  }

  clear(): void {
    this.#locks.clear();
  }

  #held(key: string, now: number): { token: string; until: number } | undefined {
    const lock = this.#locks.get(key);
    if (lock && lock.until <= now) {
      this.#locks.delete(key);
      return undefined;
    }
    return lock;
  }

  #sweep(now: number): void {
    for (const [key, { until }] of this.#locks) if (until <= now) this.#locks.delete(key);
  }
}
