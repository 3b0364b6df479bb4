import { LRUCache } from 'lru-cache';
import type { CacheEntry } from '../types.js';

// Entries the store read whole from Redis, with their value id. A value id is never reused: an id
// names one value and one metadata for good. So a read that sends the id it knows for a key and
// hears back "still that id" (after the script checked the entry's tag versions as on any read)
// may answer with the entry it kept: the value does not leave Redis, and nothing is parsed again.
// Unlike the local tier this needs no tracking, and still costs the round trip that vouches for it.

/** An entry read whole, as kept. */
export interface Known<M extends object> {
  /** Its value id. */
  id: string;
  entry: CacheEntry<M>;
  /** Its tags as the script replied them (encoded), for the local tier. */
  tags: Buffer[];
  /** Bytes: value plus metadata JSON. */
  size: number;
}

/** The entries last read whole, per local key (key prefix and metadata key). */
export class KnownValues<M extends object> {
  readonly #lru: LRUCache<string, Known<M>>;

  constructor(maxCount: number, maxSize: number) {
    this.#lru = new LRUCache<string, Known<M>>({
      max: maxCount,
      maxSize,
      sizeCalculation: (known) => Math.max(1, known.size),
    });
  }

  /** What was last read whole under `key`, if still kept. */
  get(key: string): Known<M> | undefined {
    return this.#lru.get(key);
  }

  remember(key: string, known: Known<M>): void {
    this.#lru.set(key, known);
  }

  clear(): void {
    this.#lru.clear();
  }
}
