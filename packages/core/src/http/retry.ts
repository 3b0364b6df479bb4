import type { ErrorReporter } from '../report.js';

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 5000;
/** How long a failed invalidation is retried (and its tags bypassed) before it is given up. */
export const GIVE_UP_MS = 5 * 60_000;

/**
 * Redis replies that say "not now": a retry can succeed once the server loaded, the failover
 * finished or memory was freed. Any other reply (a script error, a wrong type) will fail again.
 */
const TRANSIENT_REPLIES =
  /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|MOVED|ASK|OOM|NOREPLICAS|NOSCRIPT)\b/;

/**
 * Whether retrying may fix `err`: connection trouble and transient Redis replies may pass; bad
 * arguments, script errors and a closed store will not.
 */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof Error)) return true;
  if (err instanceof TypeError || err instanceof RangeError) return false;
  if ((err as { code?: unknown }).code === 'ERR_RESTASH_STORE_CLOSED') return false;
  if (err.name === 'ReplyError') return TRANSIENT_REPLIES.test(err.message);
  return true;
}

interface Pending {
  tags: readonly string[];
  since: number;
}

/**
 * Invalidations that failed for a reason that may pass (Redis down, a failover) are retried, each
 * on its own, with backoff. While one is pending, requests whose entries carry one of its tags are
 * bypassed ({@link InvalidationRetry.affects}), so a write whose invalidation did not land cannot
 * be followed by a stale read from this process once Redis is back. One that cannot succeed is
 * reported and dropped at once; one still failing after {@link GIVE_UP_MS} is reported and dropped.
 */
export class InvalidationRetry {
  readonly #run: (tags: readonly string[]) => Promise<unknown>;
  readonly #report: ErrorReporter;
  readonly #giveUpMs: number;
  readonly #pending = new Set<Pending>();
  /** How many pending invalidations name each tag. */
  readonly #tags = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #delay = FIRST_DELAY_MS;
  #closed = false;

  constructor(
    run: (tags: readonly string[]) => Promise<unknown>,
    report: ErrorReporter,
    giveUpMs = GIVE_UP_MS,
  ) {
    this.#run = run;
    this.#report = report;
    this.#giveUpMs = giveUpMs;
  }

  get pending(): boolean {
    return this.#pending.size > 0;
  }

  /** Whether a pending invalidation names one of `tags`. */
  affects(tags: readonly string[]): boolean {
    return this.#pending.size > 0 && tags.some((tag) => this.#tags.has(tag));
  }

  /** Takes an invalidation that failed with `err`: retries it, or reports why it will not. */
  add(tags: readonly string[], err: unknown): void {
    if (!isTransient(err)) {
      this.#report(notRetried(tags, 'it cannot succeed', err));
      return;
    }
    this.#pending.add({ tags, since: performance.now() });
    for (const tag of tags) this.#tags.set(tag, (this.#tags.get(tag) ?? 0) + 1);
    this.#schedule();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => void this.#retry(), this.#delay);
    this.#timer.unref();
  }

  async #retry(): Promise<void> {
    this.#timer = undefined;
    let failed = false;
    await Promise.all(
      [...this.#pending].map(async (pending) => {
        try {
          await this.#run(pending.tags);
          this.#drop(pending);
        } catch (err) {
          failed = true;
          if (!isTransient(err)) {
            this.#drop(pending);
            this.#report(notRetried(pending.tags, 'it cannot succeed', err));
          } else if (performance.now() - pending.since > this.#giveUpMs) {
            this.#drop(pending);
            this.#report(notRetried(pending.tags, `it kept failing for ${this.#giveUpMs} ms`, err));
          } else {
            this.#report(err);
          }
        }
      }),
    );
    this.#delay = failed ? Math.min(this.#delay * 2, MAX_DELAY_MS) : FIRST_DELAY_MS;
    if (this.#pending.size > 0) this.#schedule();
  }

  #drop(pending: Pending): void {
    if (!this.#pending.delete(pending)) return;
    for (const tag of pending.tags) {
      const count = (this.#tags.get(tag) ?? 1) - 1;
      if (count === 0) this.#tags.delete(tag);
      else this.#tags.set(tag, count);
    }
  }
}

function notRetried(tags: readonly string[], why: string, cause: unknown): Error {
  const names = tags.map((tag) => JSON.stringify(tag)).join(', ');
  return new Error(
    `invalidation of ${names} is not retried: ${why}; entries carrying these tags may be served until they expire`,
    { cause },
  );
}
