import type { Lease, Lookup } from '../types.js';
import type { Clock } from './reply.js';

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
