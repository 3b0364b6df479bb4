/**
 * Most keys plus tags a journal remembers. Past it the oldest are forgotten, and a replay that
 * would have needed them says so.
 */
const MAX_ENTRIES = 100_000;

/** What a replay must write again. */
export interface Replay {
  keys: string[];
  tags: string[];
  /** Writes in the requested period that the journal had to forget (it was full). */
  forgotten: boolean;
}

/**
 * The keys a store wrote (set or deleted) and the tags it invalidated recently, each with the time
 * of its latest write, so that they can be written again on a new master after a failover. Only
 * names are kept, never values: a replay deletes, which is always safe for a cache.
 */
export class WriteJournal {
  readonly #keys = new Map<string, number>();
  readonly #tags = new Map<string, number>();
  /** When the newest entry forgotten for lack of room was written. */
  #forgottenAt = -Infinity;

  key(key: string, at = performance.now()): void {
    this.#touch(this.#keys, key, at);
  }

  tags(tags: readonly string[], at = performance.now()): void {
    for (const tag of tags) this.#touch(this.#tags, tag, at);
  }

  /** Everything written at or after `since`. */
  since(since: number): Replay {
    const pick = (map: Map<string, number>): string[] =>
      [...map].filter(([, at]) => at >= since).map(([name]) => name);
    return {
      keys: pick(this.#keys),
      tags: pick(this.#tags),
      forgotten: this.#forgottenAt >= since,
    };
  }

  /** Forgets what was written before `before`. */
  prune(before: number): void {
    for (const map of [this.#keys, this.#tags]) {
      // Maps iterate in insertion order and #touch re-inserts: the oldest come first.
      for (const [name, at] of map) {
        if (at >= before) break;
        map.delete(name);
      }
    }
  }

  get size(): number {
    return this.#keys.size + this.#tags.size;
  }

  #touch(map: Map<string, number>, name: string, at: number): void {
    map.delete(name);
    map.set(name, at);
    if (this.size <= MAX_ENTRIES) return;
    const oldest = map.entries().next().value;
    if (oldest === undefined) return;
    map.delete(oldest[0]);
    this.#forgottenAt = Math.max(this.#forgottenAt, oldest[1]);
  }
}
