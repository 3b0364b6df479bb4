import { LRUCache } from 'lru-cache';
import type { CacheEntry } from '../types.js';
import { trackingLog } from './debug.js';

/** A read in flight that may fill the local tier when it returns. */
export interface Ticket {
  readonly key: string;
  readonly epoch: number;
  readonly generation: number;
  /** {@link LocalTier} version sequence when the read was sent. */
  readonly seq: number;
  /** `performance.now()` when the read was sent: the TTL Redis reports counts from there. */
  readonly sentAt: number;
}

interface Stored<M extends object> {
  entry: CacheEntry<M>;
  size: number;
  /** The tag versions (scope and tag, see {@link versionId}) the entry is valid under. */
  versions: readonly string[];
}

/** How the local tier names a tag version: its scope and tag. */
export function versionId(scope: number, tag: string): string {
  return `${scope}:${tag}`;
}

/** Version changes remembered for reads in flight; past this many, in-flight fills are refused. */
const MAX_REMEMBERED_CHANGES = 10_000;

/**
 * The in-process copy of entries Redis tracks for us. Redis tells us when a key changes, and when
 * a tag version changes (an invalidation); this class makes sure a read that raced such a message
 * cannot put the old value back:
 * - an invalidation of a key bumps the generation of reads in flight for it;
 * - a version change is remembered with a sequence number, and a read sent before it does not
 *   fill an entry that depends on that version;
 * - a flush (FLUSHALL, lost connection, broken tracking) bumps the epoch of all reads;
 * and {@link LocalTier.fill} stores only when none of these happened since {@link LocalTier.begin}.
 */
export class LocalTier<M extends object> {
  readonly #lru: LRUCache<string, Stored<M>>;
  readonly #inflight = new Map<string, { readers: number; generation: number }>();
  /** Local keys of the entries valid under each version. */
  readonly #dependents = new Map<string, Set<string>>();
  /** Sequence number of each version's last change, while reads are in flight. */
  readonly #changed = new Map<string, number>();
  #seq = 0;
  #epoch = 0;

  constructor(maxCount: number, maxSize: number) {
    this.#lru = new LRUCache<string, Stored<M>>({
      max: maxCount,
      maxSize,
      sizeCalculation: (stored) => Math.max(1, stored.size),
      dispose: (stored, key) => this.#undepend(key, stored.versions),
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
    const { generation } = pending;
    return { key, epoch: this.#epoch, generation, seq: this.#seq, sentAt: performance.now() };
  }

  /**
   * Stores what the read returned unless an invalidation or flush came in since it was sent.
   * `pttl` is the remaining TTL Redis reported (-1: none), so the copy never outlives Redis's.
   */
  fill(
    ticket: Ticket,
    entry: CacheEntry<M>,
    size: number,
    pttl: number,
    versions: readonly string[],
  ): void {
    const pending = this.#inflight.get(ticket.key);
    if (ticket.epoch !== this.#epoch || pending?.generation !== ticket.generation) return;
    if (versions.some((id) => (this.#changed.get(id) ?? -1) > ticket.seq)) return;
    if (pttl === 0 || pttl < -1) return;
    const ttl = pttl > 0 ? pttl : 0;
    this.#lru.set(ticket.key, { entry, size, versions }, { ttl, start: ticket.sentAt });
    if (!this.#lru.has(ticket.key)) return;
    for (const id of versions) {
      let keys = this.#dependents.get(id);
      if (!keys) this.#dependents.set(id, (keys = new Set()));
      keys.add(ticket.key);
    }
  }

  end(ticket: Ticket): void {
    const pending = this.#inflight.get(ticket.key);
    if (pending && --pending.readers === 0) this.#inflight.delete(ticket.key);
    if (this.#inflight.size === 0) this.#changed.clear();
  }

  /** Redis says `key` changed. */
  invalidate(key: string): void {
    this.#lru.delete(key);
    const pending = this.#inflight.get(key);
    if (pending) pending.generation++;
  }

  /** A tag version changed (see {@link versionId}): entries valid under it are not any more. */
  invalidateVersion(id: string): void {
    for (const key of [...(this.#dependents.get(id) ?? [])]) this.#lru.delete(key);
    if (this.#inflight.size === 0) return;
    if (this.#changed.size >= MAX_REMEMBERED_CHANGES) {
      this.#changed.clear();
      this.#epoch++; // too much to remember: refuse every fill in flight instead
      trackingLog('local tier: too many tag versions changed during reads: their fills refused');
    }
    this.#changed.set(id, ++this.#seq);
  }

  /** Forget everything, including what reads in flight would bring back. */
  clear(): void {
    // The line after the one saying why (a reset, FLUSHALL, a failover).
    trackingLog('local tier flushed (%d entries)', this.#lru.size);
    this.#epoch++;
    this.#lru.clear();
  }

  get size(): number {
    return this.#lru.size;
  }

  #undepend(key: string, versions: readonly string[]): void {
    for (const id of versions) {
      const keys = this.#dependents.get(id);
      keys?.delete(key);
      if (keys?.size === 0) this.#dependents.delete(id);
    }
  }
}
