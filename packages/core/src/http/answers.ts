import type { OutgoingHttpHeaders } from 'node:http';
import type { ErrorReporter } from '../report.js';
import type { Found } from './fill.js';
import { ageOf, replay as replayEntry } from './replay.js';
import type {
  CacheRequest,
  CacheStats,
  CapturedResponse,
  Finish,
  Hit,
  Pass,
  ReplayResponse,
} from './types.js';

/** What every passed response has done to it: `Cache-Groups` is for the cache only. */
export const FINISH: Finish = { removeHeaders: ['cache-groups'] };

/** What the leader of a flight does with the handler's response. */
export interface Leader {
  /** Stores the response if it may be (settling the flight with it) and says how to send it. */
  store(response: CapturedResponse | undefined): Finish;
  /** Settles the flight with nothing: the handler's response will not be stored. */
  abandon(): void;
}

/** What answers count and report into. */
export interface AnswerParts {
  stats: CacheStats;
  report: ErrorReporter;
  /** Send `X-Cache` and `Age`. */
  debug: boolean;
}

/** The decisions the engine hands adapters: hits, stale answers, misses and bypasses. */
export class Answers {
  readonly #parts: AnswerParts;

  constructor(parts: AnswerParts) {
    this.#parts = parts;
  }

  hit(found: Found, request: CacheRequest, xCache: 'HIT' | 'STALE'): Hit {
    if (xCache === 'HIT') this.#parts.stats.hits++;
    else this.#parts.stats.stale++;
    return { kind: 'hit', response: this.replay(found, request, xCache) };
  }

  /**
   * A failed answer swapped for the stale copy. The answer is the stored response exactly: every
   * header of the failure goes (also ones set before the cache ran), the stored ones come back,
   * and the request counts as stale rather than as a miss.
   */
  replaceWithStale(found: Found, request: CacheRequest, failed: OutgoingHttpHeaders): Finish {
    this.#parts.stats.misses--;
    this.#parts.stats.stale++;
    return {
      removeHeaders: [...FINISH.removeHeaders, ...Object.keys(failed)],
      replace: this.replay(found, request, 'STALE'),
    };
  }

  replay(found: Found, request: CacheRequest, xCache: string): ReplayResponse {
    const debug = this.#parts.debug
      ? { xCache, age: ageOf(found.metadata, Date.now()) }
      : undefined;
    return replayEntry(found.metadata, found.body, request, debug);
  }

  bypass(): Pass {
    this.#parts.stats.bypasses++;
    return {
      kind: 'pass',
      xCache: this.#parts.debug ? 'BYPASS' : undefined,
      finish: () => FINISH,
      fail: () => undefined,
    };
  }

  /**
   * A request the handler answers. A 5xx or a failure is swapped for `stale` when there is one;
   * the `leader` of a flight also stores what the handler produced.
   */
  miss(request: CacheRequest, stale: Found | undefined, leader: Leader | undefined): Pass {
    this.#parts.stats.misses++;
    return {
      kind: 'pass',
      xCache: this.#parts.debug ? 'MISS' : undefined,
      finish: (response) => {
        try {
          if (response && stale && response.status >= 500) {
            leader?.abandon();
            return this.replaceWithStale(stale, request, response.headers);
          }
          return leader ? leader.store(response) : FINISH;
        } catch (err) {
          // Whatever went wrong, the response goes out and nobody waits for it in vain.
          this.#parts.report(err);
          leader?.abandon();
          return FINISH;
        }
      },
      fail: (headers) => {
        leader?.abandon();
        return stale && this.replaceWithStale(stale, request, headers);
      },
    };
  }
}
