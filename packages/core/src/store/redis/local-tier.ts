import { LRUCache } from 'lru-cache';
import type { CacheEntry } from '../types.js';

/** A read in flight that may fill the local tier when it returns. */
export interface Ticket {
  readonly key: string;
  readonly epoch: number;
  readonly generation: number;
  /** `performance.now()` when the read was sent: the TTL Redis reports counts from there. */
  readonly sentAt: number;
}

interface Stored<M extends object> {
  entry: CacheEntry<M>;
  size: number;
}

/**
 * The in-process copy of entries Redis tracks for us. Redis tells us when a key changes; this
 * class makes sure a read that raced such a message cannot put the old value back:
 * - an invalidation of a key bumps the generation of reads in flight for it;
 * - a flush (FLUSHALL, lost connection, broken tracking) bumps the epoch of all reads;
 * and {@link LocalTier.fill} stores only when neither moved since {@link LocalTier.begin}.
 */
export class LocalTier<M extends object> {
  readonly #lru: LRUCache<string, Stored<M>>;
  readonly #inflight = new Map<string, { readers: number; generation: number }>();
  #epoch = 0;

  constructor(maxCount: number, maxSize: number) {
    this.#lru = new LRUCache<string, Stored<M>>({
      max: maxCount,
      maxSize,
      sizeCalculation: (stored) => Math.max(1, stored.size),
    });
  }

  get(key: string): CacheEntry<M> | undefined {
    return this.#lru.get(key)?.entry;
  }

  /** Registers a read about to be sent; pair it with exactly one {@link LocalTier.end}. */
  begin(key: string): Ticket {
    let pending = this.#inflight.get(key);
    if (!pending) this.#inflight.set(key, (pending = { readers: 0, generation: 0 }));
    pending.readers++;
    return { key, epoch: this.#epoch, generation: pending.generation, sentAt: performance.now() };
  }

  /**
   * Stores what the read returned unless an invalidation or flush came in since it was sent.
   * `pttl` is the remaining TTL Redis reported (-1: none), so the copy never outlives Redis's.
   */
  fill(ticket: Ticket, entry: CacheEntry<M>, size: number, pttl: number): void {
    const pending = this.#inflight.get(ticket.key);
    if (ticket.epoch !== this.#epoch || pending?.generation !== ticket.generation) return;
    if (pttl === 0 || pttl < -1) return;
    this.#lru.set(ticket.key, { entry, size }, { ttl: pttl > 0 ? pttl : 0, start: ticket.sentAt });
  }

  end(ticket: Ticket): void {
    const pending = this.#inflight.get(ticket.key);
    if (pending && --pending.readers === 0) this.#inflight.delete(ticket.key);
  }

  /** Redis says `key` changed. */
  invalidate(key: string): void {
    this.#lru.delete(key);
    const pending = this.#inflight.get(key);
    if (pending) pending.generation++;
  }

  /** Forget everything, including what reads in flight would bring back. */
  clear(): void {
    this.#epoch++;
    this.#lru.clear();
  }

  get size(): number {
    return this.#lru.size;
  }
}
