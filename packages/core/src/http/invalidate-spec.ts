import { checkKnownKeys, checkObject, checkStringArray, describe } from '../validate.js';
import type { UserId } from './options.js';
import type { InvalidateSpec } from './types.js';

// What `invalidate` and `invalidateOn` take, checked (TypeErrors name the field) and resolved.

/** What `invalidateOn` drops after a successful write: lists, or functions of the request. */
export interface InvalidateOnSpec<C> {
  /** As {@link InvalidateSpec.keys}. */
  keys?: readonly string[] | ((context: C) => readonly string[]);
  /** As {@link InvalidateSpec.tags}. */
  tags?: readonly string[] | ((context: C) => readonly string[]);
  /** As {@link InvalidateSpec.users}. */
  users?: readonly UserId[] | ((context: C) => readonly UserId[]);
}

/** Throws a TypeError naming the first bad field of an `invalidateOn` spec. */
export function checkInvalidateOnSpec<C>(spec: InvalidateOnSpec<C>): void {
  checkObject('invalidateOn spec', spec);
  const lists = Object.fromEntries(
    Object.entries(spec ?? {}).map(([name, value]) => [
      name,
      typeof value === 'function' ? [] : value,
    ]),
  );
  checkInvalidateSpec(lists);
}

/** The invalidation an `invalidateOn` spec means for one request. */
export function resolveInvalidation<C>(spec: InvalidateOnSpec<C>, context: C): InvalidateSpec {
  const resolve = <T>(
    value: readonly T[] | ((context: C) => readonly T[]) | undefined,
  ): readonly T[] | undefined => (typeof value === 'function' ? value(context) : value);
  return { keys: resolve(spec.keys), tags: resolve(spec.tags), users: resolve(spec.users) };
}

/** Throws a TypeError unless `spec` is a valid `invalidate` argument. */
export function checkInvalidateSpec(spec: unknown): void {
  checkObject('invalidate spec', spec);
  if (spec === undefined) throw new TypeError('invalidate needs { keys?, tags?, users? }');
  checkKnownKeys('invalidate', spec as object, ['keys', 'tags', 'users']);
  const { keys, tags, users } = spec as Record<string, unknown>;
  checkStringArray('invalidate keys', keys);
  checkStringArray('invalidate tags', tags);
  if (users !== undefined && !(Array.isArray(users) && users.every(isUserId))) {
    throw new TypeError(
      `invalidate users must be an array of strings or numbers, got ${describe(users)}`,
    );
  }
}

function isUserId(value: unknown): value is UserId {
  return typeof value === 'string' || typeof value === 'number';
}
