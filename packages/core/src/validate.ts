// Option checks shared by the stores and the HTTP cache. Each throws a TypeError that names the
// option, so a typo or a wrong unit fails at startup rather than as a silent cache miss later.

/** Throws if `options` holds a key that is not in `known` (catches typos like `trackng`). */
export function checkKnownKeys(where: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(`${where}: unknown option '${key}' (known: ${known.join(', ')})`);
    }
  }
}

/** Accepts undefined or an object (not an array, not null). */
export function checkObject(name: string, value: unknown): void {
  if (
    value !== undefined &&
    (typeof value !== 'object' || value === null || Array.isArray(value))
  ) {
    throw new TypeError(`${name} must be an object, got ${describe(value)}`);
  }
}

/** Accepts undefined or an integer >= `min`. */
export function checkInteger(name: string, value: unknown, min = 0): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) >= min)) {
    throw new TypeError(`${name} must be an integer >= ${min}, got ${describe(value)}`);
  }
}

/** Accepts undefined or a boolean. */
export function checkBoolean(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new TypeError(`${name} must be a boolean, got ${describe(value)}`);
  }
}

/** Accepts undefined or a function. */
export function checkFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') {
    throw new TypeError(`${name} must be a function, got ${describe(value)}`);
  }
}

/** Accepts undefined or an array of strings. */
export function checkStringArray(name: string, value: unknown): void {
  if (value !== undefined && !(Array.isArray(value) && value.every((v) => typeof v === 'string'))) {
    throw new TypeError(`${name} must be an array of strings, got ${describe(value)}`);
  }
}

/** A short description of a bad value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}
