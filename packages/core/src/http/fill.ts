import type { CacheStore, Lease } from '../store/types.js';
import type { ResponseMetadata, VaryMetadata } from './entry.js';

/** A stored response as read back. */
export interface Found {
  metadata: ResponseMetadata;
  body: Buffer;
}

/** What a leader shares with the requests that waited for it. */
export interface Shared extends Found {
  /** Request headers the response varies on, and the variant key of the leader's request. */
  vary: readonly string[];
  variant: string;
}

/** Everything a miss's leader needs to store its response. */
export interface Fill {
  body: Buffer;
  metadata: ResponseMetadata;
  lease: Lease;
  /** The key the request read first (before Vary applied). */
  primary: string;
  /** The key the lease is for (the variant key when the marker was known). */
  key: string;
  /** What the stored Vary marker says the response varies on, if there was one. */
  knownVary: readonly string[] | undefined;
  /** What the response as written varies on (sorted), and this request's key for it. */
  vary: readonly string[];
  variant: string;
  /** Seconds to keep the entry (fresh time plus grace). */
  ttl: number;
  tags: readonly string[];
}

/**
 * Stores a response under its lease; resolves what waiting requests may serve, `'refused'` when
 * the lease was (an invalidation came first), or `undefined` when the route's Vary changed; store
 * trouble throws.
 */
export async function fill(store: CacheStore, job: Fill): Promise<Shared | 'refused' | undefined> {
  const { body, metadata, lease, ttl, tags, knownVary, vary, variant } = job;
  if (knownVary === undefined && vary.length > 0) {
    // First sight of a varying response: the marker says what it varies on and holds this
    // first variant; later variants are stored under keys of their own.
    const marker: VaryMetadata = { kind: 'vary', vary: [...vary], variant, response: metadata };
    if (!(await store.setLeased(lease, body, marker, ttl, tags))) return 'refused';
    return { metadata, body, vary, variant };
  }
  if (knownVary !== undefined && knownVary.join() !== vary.join()) {
    await store.delete(job.primary); // the route changed what it varies on
    return undefined;
  }
  if (!(await store.setLeased(lease, body, metadata, ttl, tags))) return 'refused';
  return { metadata, body, vary, variant: job.key };
}
