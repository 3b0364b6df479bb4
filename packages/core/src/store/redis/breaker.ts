import type { ErrorReporter } from '../../report.js';
import { storeLog } from './debug.js';

// A Redis that stops answering (paused, overloaded, a network black hole) costs every call the
// full command timeout, and a miss makes several: ~0.5 s per request on top of the route. After a
// few timeouts in a row the store stops calling it for a while — reads miss at once, writes
// reject at once — and lets one call through per interval to see whether it is back.

/** Consecutive timeouts that open the circuit. */
export const BREAKER_THRESHOLD = 3;
/** The first pause; it doubles while probes keep timing out. */
export const BREAKER_MIN_MS = 1000;
/** The longest pause. */
export const BREAKER_MAX_MS = 30_000;

/** Timeouts are what the breaker counts: a refused connection fails fast on its own. */
function isTimeout(err: unknown): boolean {
  return err instanceof Error && /timed? ?out/i.test(err.message);
}

export class CircuitBreaker {
  #timeouts = 0;
  #openUntil = 0;
  #pauseMs = BREAKER_MIN_MS;
  #probing = false;

  constructor(private readonly report: ErrorReporter) {}

  /** Whether a call may go to Redis now: always when closed, one probe per pause when open. */
  allow(): boolean {
    if (this.#openUntil === 0) return true;
    if (this.#probing || performance.now() < this.#openUntil) return false;
    this.#probing = true;
    storeLog('circuit half-open: one call probes Redis');
    return true;
  }

  /** What an allowed call came to: `undefined` for an answer, else its error. */
  record(err?: unknown): void {
    const probe = this.#probing;
    this.#probing = false;
    if (err === undefined) return this.#close();
    if (!isTimeout(err)) return;
    this.#timeouts++;
    // Open already, calls that were in flight time out too: only a probe's timeout counts then.
    const open = this.#openUntil !== 0;
    if (open ? !probe : this.#timeouts < BREAKER_THRESHOLD) return;
    this.#openUntil = performance.now() + this.#pauseMs;
    storeLog('circuit open for %d ms after %d timeouts in a row', this.#pauseMs, this.#timeouts);
    this.report(
      new Error(
        `Redis timed out ${this.#timeouts} times in a row: the store calls it again in ${this.#pauseMs} ms (one probe), and misses or rejects at once until then`,
      ),
    );
    this.#pauseMs = Math.min(this.#pauseMs * 2, BREAKER_MAX_MS);
  }

  /** Runs `call` if allowed, recording how it went; rejects at once when the circuit is open. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    if (!this.allow()) {
      throw new Error('Redis is not answering: the store does not call it for now (circuit open)');
    }
    try {
      const result = await call();
      this.record();
      return result;
    } catch (err) {
      this.record(err);
      throw err;
    }
  }

  #close(): void {
    if (this.#openUntil !== 0) storeLog('circuit closed: Redis answered');
    this.#timeouts = 0;
    this.#openUntil = 0;
    this.#pauseMs = BREAKER_MIN_MS;
  }
}
