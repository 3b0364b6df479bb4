import {
  checkFunction,
  checkInteger,
  checkObject,
  checkStringArray,
  describe,
} from '../validate.js';

// Argument checks shared by both stores, so they reject the same calls with the same errors.

/** Throws a TypeError unless `key` is a string. */
export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new TypeError(`key must be a string, got ${describe(key)}`);
}

/** Throws a TypeError for a malformed `set`; returns the metadata JSON and the entry's size. */
export function checkEntry(
  value: unknown,
  metadata: unknown,
  ttl: unknown,
  tags: unknown,
): { metadataJson: string; size: number } {
  if (typeof value !== 'string' && !Buffer.isBuffer(value)) {
    throw new TypeError(`value must be a string or a Buffer, got ${describe(value)}`);
  }
  checkObject('metadata', metadata);
  checkInteger('ttl', ttl);
  checkStringArray('tags', tags);
  const metadataJson = JSON.stringify(metadata ?? {});
  return { metadataJson, size: Buffer.byteLength(value) + Buffer.byteLength(metadataJson) };
}

/** Throws a TypeError unless `tags` is an array of strings. */
export function checkTags(tags: unknown): asserts tags is readonly string[] {
  if (tags === undefined) throw new TypeError('tags must be an array of strings, got undefined');
  checkStringArray('tags', tags);
}

/** Throws a TypeError for malformed `getOrLease` options; returns the fill lock's ms, if any. */
export function checkLookupOptions(options: unknown): number | undefined {
  checkObject('getOrLease options', options);
  const { lock, valueNeeded } = (options ?? {}) as { lock?: unknown; valueNeeded?: unknown };
  checkInteger('lock', lock, 1);
  checkFunction('valueNeeded', valueNeeded);
  return lock as number | undefined;
}
