import createDebug from 'debug';
import { CHANNELS, cacheStatus, type LookupStatus } from './status.js';

// `DEBUG=restash:http` logs what the diagnostics channels carry: the log is one more subscriber,
// so it says exactly what metrics see, and costs nothing (no subscription) when it is off.

const log = createDebug('restash:http');
let subscribed = false;

/** Starts logging the HTTP cache's decisions if `DEBUG` enables `restash:http`. Idempotent. */
export function startDebugLog(): void {
  if (subscribed || !log.enabled) return;
  subscribed = true;
  CHANNELS.lookup.subscribe((message) => {
    const status = message as LookupStatus;
    log('%s key=%s %s (%sms)', status.route, status.key, cacheStatus(status), ms(status.duration));
  });
  CHANNELS.store.subscribe((message) => {
    const { route, key, stored, reason, duration } = message as StoreMessage;
    log(
      '%s key=%s %s (%sms)',
      route,
      key,
      stored ? 'stored' : `not stored: ${reason}`,
      ms(duration),
    );
  });
  CHANNELS.invalidate.subscribe((message) => {
    const { tags, removed, duration, error } = message as InvalidateMessage;
    const what = error === undefined ? `${removed ?? '?'} entries removed` : `failed: ${error}`;
    log('invalidate %o: %s (%sms)', tags, what, ms(duration));
  });
  CHANNELS.error.subscribe((message) => log('error absorbed: %O', (message as ErrorMessage).error));
}

interface StoreMessage {
  route: string;
  key: string | undefined;
  stored: boolean;
  reason: string | undefined;
  duration: number;
}

interface InvalidateMessage {
  tags: readonly string[];
  removed: number | undefined;
  duration: number;
  error: unknown;
}

interface ErrorMessage {
  error: unknown;
}

function ms(duration: number): string {
  return duration.toFixed(2);
}
