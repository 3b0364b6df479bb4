import type { ErrorReporter } from '../report.js';

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 5000;

/**
 * Invalidations that failed (Redis down) are retried until they succeed. While any is pending the
 * cache is bypassed, so a write whose invalidation did not land cannot be followed by a stale read
 * from this process once Redis is back.
 */
export class InvalidationRetry {
  readonly #run: (tags: string[]) => Promise<unknown>;
  readonly #report: ErrorReporter;
  #pending = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #delay = FIRST_DELAY_MS;
  #closed = false;

  constructor(run: (tags: string[]) => Promise<unknown>, report: ErrorReporter) {
    this.#run = run;
    this.#report = report;
  }

  get pending(): boolean {
    return this.#pending.size > 0;
  }

  add(tags: readonly string[]): void {
    for (const tag of tags) this.#pending.add(tag);
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
    const tags = [...this.#pending];
    try {
      await this.#run(tags);
      for (const tag of tags) this.#pending.delete(tag);
      this.#delay = FIRST_DELAY_MS;
    } catch (err) {
      this.#report(err);
      this.#delay = Math.min(this.#delay * 2, MAX_DELAY_MS);
    }
    if (this.#pending.size > 0) this.#schedule();
  }
}
