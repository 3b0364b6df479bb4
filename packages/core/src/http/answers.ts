import type { OutgoingHttpHeaders } from 'node:http';
import type { ErrorReporter } from '../report.js';
import type { Found } from './fill.js';
import { ageOf, replay as replayEntry } from './replay.js';
import { cacheStatus, CHANNELS, type LookupStatus } from './status.js';
import type {
  CacheRequest,
  CacheStats,
  CapturedResponse,
  Finish,
  Hit,
  Pass,
  ReplayResponse,
  RouteStats,
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
  /** Send `Cache-Status` (RFC 9211). */
  cacheStatus: boolean;
}

/** A status before the lookup has found anything out. */
export function startStatus(route: string): LookupStatus {
  return {
    route,
    outcome: 'miss',
    reason: undefined,
    stored: false,
    fwd: undefined,
    ttl: undefined,
    key: undefined,
    duration: performance.now(),
  };
}

const X_CACHE = {
  hit: 'HIT',
  stale: 'STALE',
  collapsed: 'HIT',
  revalidated: 'REVALIDATED',
  miss: 'MISS',
  bypass: 'BYPASS',
} as const;

/** The decisions the engine hands adapters: hits, stale answers, misses and bypasses. */
export class Answers {
  readonly #parts: AnswerParts;

  constructor(parts: AnswerParts) {
    this.#parts = parts;
  }

  /** Answers from a stored response (`status.outcome` says which kind of hit). */
  hit(found: Found, request: CacheRequest, status: LookupStatus): Hit {
    const { stats } = this.#parts;
    const route = this.#route(status.route);
    if (status.outcome === 'stale') {
      stats.stale++;
      route.stale++;
    } else {
      stats.hits++;
      route.hits++;
    }
    status.ttl = found.metadata.ttl - (Date.now() - found.metadata.storedAt) / 1000;
    const response = this.replay(found, request, status);
    this.#publish(status);
    return { kind: 'hit', response };
  }

  /**
   * A failed answer swapped for the stale copy. The answer is the stored response exactly: every
   * header of the failure goes (also ones set before the cache ran), the stored ones come back,
   * and the request counts as stale rather than as a miss.
   */
  replaceWithStale(
    found: Found,
    request: CacheRequest,
    failed: OutgoingHttpHeaders,
    status: LookupStatus,
  ): Finish {
    const { stats } = this.#parts;
    const route = this.#route(status.route);
    stats.misses--;
    route.misses--;
    status.outcome = 'stale';
    status.reason = 'stale-if-error';
    return {
      removeHeaders: [...FINISH.removeHeaders, ...Object.keys(failed)],
      replace: this.hit(found, request, status).response,
    };
  }

  /** The response to send for a stored entry, with the headers that say what the cache did. */
  replay(found: Found, request: CacheRequest, status: LookupStatus): ReplayResponse {
    const { debug, cacheStatus: withStatus } = this.#parts;
    const extra = debug
      ? { xCache: X_CACHE[status.outcome], age: ageOf(found.metadata, Date.now()) }
      : undefined;
    const response = replayEntry(found.metadata, found.body, request, extra);
    if (withStatus) response.headers['cache-status'] = cacheStatus(status);
    return response;
  }

  /** Stays out of the way: the handler answers and nothing is stored. */
  bypass(status: LookupStatus): Pass {
    const { stats, debug } = this.#parts;
    stats.bypasses++;
    this.#route(status.route).bypasses++;
    status.outcome = 'bypass';
    status.fwd = 'bypass';
    return {
      kind: 'pass',
      xCache: debug ? 'BYPASS' : undefined,
      finish: () => this.#finished(status, FINISH),
      fail: () => void this.#publish(status),
    };
  }

  /**
   * A request the handler answers. A 5xx or a failure is swapped for `stale` when there is one;
   * the `leader` of a flight also stores what the handler produced.
   */
  miss(
    request: CacheRequest,
    stale: Found | undefined,
    leader: Leader | undefined,
    status: LookupStatus,
  ): Pass {
    const { stats, debug, report } = this.#parts;
    stats.misses++;
    this.#route(status.route).misses++;
    status.fwd ??= 'uri-miss';
    return {
      kind: 'pass',
      xCache: debug ? 'MISS' : undefined,
      finish: (response) => {
        try {
          if (response && stale && response.status >= 500) {
            leader?.abandon();
            return this.replaceWithStale(stale, request, response.headers, status);
          }
          if (!leader) status.reason ??= response ? undefined : 'streamed';
          return this.#finished(status, leader ? leader.store(response) : FINISH);
        } catch (err) {
          // Whatever went wrong, the response goes out and nobody waits for it in vain.
          report(err);
          leader?.abandon();
          return FINISH;
        }
      },
      fail: (headers) => {
        leader?.abandon();
        if (stale) return this.replaceWithStale(stale, request, headers, status);
        this.#publish(status);
        return undefined;
      },
    };
  }

  /** Counters of one route, created on its first request. */
  #route(name: string): RouteStats {
    const routes = this.#parts.stats.routes;
    return (routes[name] ??= { hits: 0, misses: 0, stale: 0, bypasses: 0, stores: 0 });
  }

  /**
   * Adds `Cache-Status` to what a passed response gets, and publishes the lookup once its store
   * was decided on the head as written. (The header goes out before that: its `stored` says the
   * response qualified when it was written; a header that middleware added while writing, like
   * express-session's cookie, can still prevent the store. The published status is final.)
   */
  #finished(status: LookupStatus, finish: Finish): Finish {
    let finished = finish;
    if (this.#parts.cacheStatus && !finish.replace) {
      const setHeaders = { ...finish.setHeaders, 'cache-status': cacheStatus(status) };
      finished = { ...finish, setHeaders };
    }
    const { written } = finish;
    if (!written) {
      this.#publish(status);
      return finished;
    }
    return {
      ...finished,
      written: (head) => {
        written(head);
        this.#publish(status);
      },
    };
  }

  #publish(status: LookupStatus): void {
    if (CHANNELS.lookup.hasSubscribers) CHANNELS.lookup.publish(status);
  }
}
