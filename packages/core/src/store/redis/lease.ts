import { LEASE_TTL_MS, type Lease, type Lookup } from '../types.js';
import type { Clock } from './reply.js';

/**
 * A version created for a lease outlives it by a margin for clock drift between app and Redis;
 * a stored entry's versions then live as long as the entry.
 */
export const VERSION_TTL_MS = LEASE_TTL_MS + 10_000;

/** A lease of the Redis store: the scope's clock when it was taken, and where. */
export class RedisLease implements Lease {
  /** The token of the fill lock this lease holds, until stored or released. */
  lock: string | undefined;
  fillLock: Lookup['lock'];

  constructor(
    readonly key: string,
    readonly store: object,
    readonly bucket: number,
    readonly clock: Clock,
    readonly takenAt: number,
    readonly epoch: number,
  ) {}
}
