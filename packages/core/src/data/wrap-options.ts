import { hasCode } from '../store/types.js';
import { toSeconds, type Duration } from '../duration.js';
import { resolveStampede, type StampedeOptions } from '../store/stampede.js';
import {
  checkBoolean,
  checkInteger,
  checkObject,
  checkStringArray,
  describe,
} from '../validate.js';
import type { Codec } from './codec.js';

/** How one `wrap` call caches its value. */
export interface WrapOptions {
  /** How long the value is fresh: seconds, or a string such as `'5m'`. @default the cache's `ttl` (60) */
  ttl?: Duration;
  /**
   * Tags to invalidate it by; shared with the HTTP cache's (`invalidate({ tags })` drops both).
   * @default []
   */
  tags?: readonly string[];
  /**
   * How long after expiry the stale value is returned at once while one call refreshes it in the
   * background (seconds or a string such as `'30s'`). @default 0
   */
  staleWhileRevalidate?: Duration;
  /** How long after expiry a failing `fetch` is answered with the stale value. @default 0 */
  staleIfError?: Duration;
  /** Store `null` (it is returned either way); `undefined` is never stored. @default false */
  cacheNull?: boolean;
  /**
   * Milliseconds after which a stale value (within `staleIfError`) is returned instead of waiting
   * for a slow `fetch`, which goes on and refreshes the entry when it completes.
   * @default none: `wrap` waits for `fetch`
   */
  timeout?: number;
  /**
   * Milliseconds after which `wrap` rejects with a `WrapTimeoutError` if `fetch` has not answered
   * (and no stale value was returned). `fetch` is not stopped: it may still refresh the entry.
   * @default none: `wrap` waits for `fetch`
   */
  hardTimeout?: number;
  /** How values are stored. @default the cache's `codec` ({@link JSON_CODEC} unless it set one) */
  codec?: Codec;
  /**
   * Stampede protection across instances for this call: `{ wait }` (seconds or `'500ms'`), `true`
   * for the default wait (5 s), `false` for none.
   * @default the cache's `stampede` (on, 5 s, unless it set otherwise)
   */
  stampede?: boolean | StampedeOptions;
}

/** What `fetch` gets: it may set the value's lifetime and tags from the value itself. */
export interface FetchContext {
  /** Seconds the value will be fresh (e.g. from the record's own max age). */
  setTtl(ttl: Duration): void;
  /** More tags to store the value under. */
  addTags(...tags: string[]): void;
  /** The stale value being refreshed, if any. */
  readonly stale: unknown;
}

/**
 * The error `wrap` rejects with after `hardTimeout`. `instanceof` holds across the ESM and
 * CommonJS builds: it tests {@link WrapTimeoutError.code}.
 */
export class WrapTimeoutError extends Error {
  /** The `code` every instance carries. */
  static readonly code = 'ERR_RESTASH_WRAP_TIMEOUT';
  /** Stable across builds and copies of this package: `err.code === WrapTimeoutError.code`. */
  readonly code = WrapTimeoutError.code;
  constructor(
    /** The key `wrap` was called with. */
    readonly key: string,
    /** The `hardTimeout` that passed, in milliseconds. */
    readonly timeout: number,
  ) {
    super(`wrap('${key}') did not get a value within ${timeout} ms`);
    this.name = 'WrapTimeoutError';
  }

  /** `instanceof` by `code`: one identity for the ESM and CommonJS builds. */
  static override [Symbol.hasInstance](value: unknown): value is WrapTimeoutError {
    return hasCode(value, WrapTimeoutError.code);
  }
}

/** Throws a TypeError naming the first bad option of a `wrap` call. */
export function checkWrapOptions(options: WrapOptions): void {
  checkObject('wrap options', options);
  toSeconds('ttl', options.ttl);
  checkStringArray('tags', options.tags);
  toSeconds('staleWhileRevalidate', options.staleWhileRevalidate);
  toSeconds('staleIfError', options.staleIfError);
  checkBoolean('cacheNull', options.cacheNull);
  checkInteger('timeout', options.timeout, 1);
  checkInteger('hardTimeout', options.hardTimeout, 1);
  resolveStampede('stampede', options.stampede);
  const { codec } = options;
  if (
    codec !== undefined &&
    (typeof codec !== 'object' ||
      codec === null ||
      typeof codec.encode !== 'function' ||
      typeof codec.decode !== 'function' ||
      typeof codec.name !== 'string')
  ) {
    throw new TypeError(`codec must be { name, encode, decode }, got ${describe(codec)}`);
  }
}
