/** Where a component sends errors it absorbs. */
export type ErrorReporter = (err: unknown) => void;

/**
 * The reporter used when the caller gives none: logs to stderr, at most once per 10 s, so a Redis
 * outage is visible without flooding the log with one line per request.
 */
export function throttledConsoleReporter(component: string, intervalMs = 10_000): ErrorReporter {
  let last = -Infinity;
  let suppressed = 0;
  return (err) => {
    const now = performance.now();
    if (now - last < intervalMs) {
      suppressed++;
      return;
    }
    const more = suppressed > 0 ? ` (${suppressed} more since the last report)` : '';
    console.error(`[restash] ${component} error${more}:`, err);
    last = now;
    suppressed = 0;
  };
}

/** Calls a user's reporter; a reporter that throws must not break the cache. */
export function safeReporter(reporter: ErrorReporter): ErrorReporter {
  return (err) => {
    try {
      reporter(err);
    } catch {
      // Nothing sensible left to do with an error about an error.
    }
  };
}
