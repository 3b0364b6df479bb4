import ms, { type StringValue } from 'ms';
import { describe } from './validate.js';

/**
 * A number of seconds, or a string as people write durations: `'30s'`, `'5m'`, `'1h'`,
 * `'2 days'` (the `ms` package's syntax; a bare number string is milliseconds there, so `'60'`
 * is refused rather than read as a minute).
 */
export type Duration = number | string;

/**
 * `value` in whole seconds, or `undefined` if it is undefined. Throws a TypeError naming the
 * option for anything else, including strings under a second or not a whole number of seconds:
 * lifetimes are kept in seconds, and silently rounding `'1500ms'` would change what was asked.
 */
export function toSeconds(name: string, value: Duration | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return value;
    throw new TypeError(`${name} must be an integer >= 0 (seconds), got ${describe(value)}`);
  }
  if (typeof value === 'string' && /[a-z]\s*$/i.test(value)) {
    const millis = parse(value);
    if (millis !== undefined && millis >= 0 && millis % 1000 === 0) return millis / 1000;
  }
  throw new TypeError(
    `${name} must be seconds or a duration like '30s', '5m', '2 days' (whole seconds), got ${describe(value)}`,
  );
}

/**
 * `value` in milliseconds, or `undefined` if it is undefined: seconds (fractions allowed, to the
 * millisecond: `0.25`) or a string (`'250ms'`, `'5s'`), from 1 ms to `max` ms. Throws a
 * TypeError naming the option for anything else.
 */
export function toMilliseconds(
  name: string,
  value: Duration | undefined,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  let millis: number | undefined;
  if (typeof value === 'number') {
    // 0.3 s is 300.00000000000006 ms in floating point: whole within a rounding error.
    millis = Math.round(value * 1000);
    if (!(Math.abs(millis - value * 1000) < 1e-6)) millis = undefined;
  } else if (typeof value === 'string' && /[a-z]\s*$/i.test(value)) millis = parse(value);
  if (millis !== undefined && Number.isInteger(millis) && millis >= 1 && millis <= max) {
    return millis;
  }
  throw new TypeError(
    `${name} must be seconds or a duration like '250ms' or '5s' (whole milliseconds, at most ${max / 1000} s), got ${describe(value)}`,
  );
}

/** `ms` returns undefined for what it cannot read, and throws for empty or very long strings. */
function parse(value: string): number | undefined {
  try {
    // Typed as a template of units; what it cannot read comes back undefined at run time.
    const millis = ms(value as StringValue) as number | undefined;
    return Number.isSafeInteger(millis) ? millis : undefined;
  } catch {
    return undefined;
  }
}
