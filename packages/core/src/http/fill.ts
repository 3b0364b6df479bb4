import type { OutgoingHttpHeaders } from 'node:http';
import type { CacheStore, Lease } from '../store/types.js';
import type { ResponseMetadata, VaryMetadata } from './entry.js';
import { headerValue, listTokens } from './headers.js';

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
  headers: OutgoingHttpHeaders;
  metadata: ResponseMetadata;
  lease: Lease;
  /** The key the request read first (before Vary applied). */
  primary: string;
  /** The key to store under (the variant key once the response is known to vary). */
  key: string;
  /** What the stored Vary marker says the response varies on, if there is one. */
  knownVary: readonly string[] | undefined;
  /** Seconds to keep the entry (fresh time plus grace). */
  ttl: number;
  tags: readonly string[];
}

/**
 * Stores a response under its lease; resolves what waiting requests may serve, or `undefined`
 * when nothing was stored (refused lease, a Vary marker, store trouble, which throws).
 */
export async function fill(store: CacheStore, job: Fill): Promise<Shared | undefined> {
  const { body, metadata, lease, ttl, tags, knownVary } = job;
  const vary = [...new Set(listTokens(headerValue(job.headers, 'vary')))].sort();
  if (knownVary === undefined && vary.length > 0) {
    // First sight of a varying response: remember what it varies on. The next miss stores
    // its variant under a lease of its own key.
    const marker: VaryMetadata = { kind: 'vary', vary };
    await store.setLeased(lease, Buffer.alloc(0), marker, ttl, tags);
    return undefined;
  }
  if (knownVary !== undefined && knownVary.join() !== vary.join()) {
    await store.delete(job.primary); // the route changed what it varies on
    return undefined;
  }
  if (!(await store.setLeased(lease, body, metadata, ttl, tags))) return undefined;
  return { metadata, body, vary, variant: job.key };
}
