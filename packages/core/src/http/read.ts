import type { CacheEntry, Lease } from '../store/types.js';
import { parseMetadata, type EntryMetadata, type VaryMetadata } from './entry.js';
import type { Found } from './fill.js';

// What a store read means to the HTTP cache: a response, a Vary marker, or nothing usable.

/** What a read found under one key. */
export interface Read {
  found: Found | undefined;
  /** A Vary marker, with the first variant it holds (its body is the marker's value). */
  marker: (VaryMetadata & { found: Found | undefined }) | undefined;
  /** On a miss, the lease the store took with the read. */
  lease: Lease | undefined;
  /** Whether something was stored under the key (found, or present but unreadable). */
  present: boolean;
  /** `found` came without its body: its metadata answers the request. */
  withoutValue?: boolean;
  /** It waited for another instance to fill the key (stampede.ts). */
  waited?: boolean;
}

/** What an entry read back means; anything unreadable is a miss. */
export function toRead(entry: CacheEntry | undefined, lease: Lease | undefined): Read {
  if (!entry) return { found: undefined, marker: undefined, lease, present: false };
  let read = READS.get(entry);
  if (!read) READS.set(entry, (read = readOf(entry)));
  return read;
}

/**
 * Entries already read: a local copy is the same object every hit, and reads back as the same
 * (never modified) {@link Read}, so a warm hit allocates nothing for it.
 */
const READS = new WeakMap<CacheEntry, Read>();

function readOf(entry: CacheEntry): Read {
  const metadata = parseMetadata(entry.metadata);
  if (!metadata) return { found: undefined, marker: undefined, lease: undefined, present: true };
  const { value } = entry;
  const body = Buffer.isBuffer(value) ? value : Buffer.from(value);
  if (metadata.kind === 'vary') {
    const found = metadata.response && { metadata: metadata.response, body };
    return { found: undefined, marker: { ...metadata, found }, lease: undefined, present: true };
  }
  const { withoutValue } = entry;
  return {
    found: { metadata, body },
    marker: undefined,
    lease: undefined,
    present: true,
    withoutValue,
  };
}

/** Metadata objects already checked (valueNeeded sees metadata before there is an entry). */
const CHECKED = new WeakSet<object>();

export function checked(raw: Record<string, unknown>): EntryMetadata | undefined {
  if (CHECKED.has(raw)) return raw as EntryMetadata;
  const metadata = parseMetadata(raw);
  if (metadata) CHECKED.add(raw);
  return metadata;
}

/** Seconds since a stored response was stored (its freshness counts from there). */
export function ageOf(found: Found): number {
  return (Date.now() - found.metadata.storedAt) / 1000;
}
