import type { Shared } from './fill.js';
import { refreshInBackground } from './refresh.js';
import type { CacheRequest } from './types.js';

/** A background refresh in progress: what its copy of the request stored, once it did. */
export interface Refresh {
  /** Settles with what the copy stored, or `undefined` once it ended without storing. */
  readonly result: Promise<Shared | undefined>;
}

interface Running extends Refresh {
  settle(result: Shared | undefined | Promise<Shared | undefined>): void;
}

/** How long a refresh may run before another may start: as long as a lease is good. */
const MAX_REFRESH_MS = 120_000;

/**
 * This process's background refreshes, one per key at a time (refresh.ts makes the copies):
 * requests that find an entry stale start one, or find the one running; the copy's own lookup
 * hands over the flight it leads, whose result is what they may wait for.
 */
export class Refreshes {
  readonly #running = new Map<string, Running>();

  /**
   * The refresh of `key` in progress, else one started with a copy of `request`; `undefined`
   * when the request cannot be copied (no Node request, no server to send the copy to).
   */
  start(request: CacheRequest, key: string): Refresh | undefined {
    const running = this.#running.get(key);
    if (running) return running;
    if (!request.node) return undefined;
    let settle!: Running['settle'];
    const result = new Promise<Shared | undefined>((resolve) => (settle = resolve));
    const started = refreshInBackground(
      request.node,
      request.url,
      () => {
        if (this.#running.get(key)?.result === result) this.#running.delete(key);
        settle(undefined);
      },
      MAX_REFRESH_MS,
    );
    if (!started) return undefined;
    this.#running.set(key, { result, settle });
    return { result };
  }

  /**
   * Another instance is refreshing `key` (its fill lock is held for `ms` more): requests of this
   * process answer stale without sending another copy until then.
   */
  elsewhere(key: string, ms: number): void {
    const running: Running = { result: Promise.resolve(undefined), settle: () => undefined };
    this.#running.get(key)?.settle(undefined);
    this.#running.set(key, running);
    setTimeout(() => {
      if (this.#running.get(key) === running) this.#running.delete(key);
    }, ms).unref();
  }

  /** The copy refreshing `key` leads the miss: its flight settles the refresh. */
  led(key: string, flight: Promise<Shared | undefined>): void {
    this.#running.get(key)?.settle(flight);
  }
}
