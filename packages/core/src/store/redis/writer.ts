import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { CircuitBreaker } from './breaker.js';
import { encodeString } from './encoding.js';
import { metadataName, type Scopes, valueName } from './layout.js';
import { VERSION_TTL_MS, type RedisLease } from './lease.js';
import { LARGE_VALUE, runScript, SET } from './scripts.js';

// The store's write path: one script that replaces the entry, versions its tags and indexes it
// (refusing a leased write an invalidation overtook); a large value goes ahead of it by a plain
// SET to a key of its own id.

/** How long a large value staged for a write lives if the write's script never runs. */
const STAGED_TTL_MS = 60_000;

/** What a write works with; the store owns it. */
export interface WriterParts {
  client: Redis | Cluster;
  prefix: string;
  scopes: Scopes;
  breaker: CircuitBreaker;
  /** Called once the write was sent, whatever came of it: it may have happened all the same. */
  wrote(key: string, bucket: number): void;
}

/** An entry to write, its arguments checked. */
export interface Write {
  key: string;
  bucket: number;
  value: string | Buffer;
  metadataJson: string;
  /** Bytes: value plus metadata JSON. */
  size: number;
  /** Seconds; `undefined`: no expiry. */
  ttl: number | undefined;
  tags: readonly string[];
  lease: RedisLease | undefined;
}

/** Writes an entry; resolves whether it was stored (`false`: its lease refused it). */
export async function writeEntry(parts: WriterParts, write: Write): Promise<boolean> {
  const { client, breaker } = parts;
  const { key, bucket, value, lease } = write;
  const id = randomUUID();
  // A large value goes by a plain SET first (copying it through Lua costs Redis far more), to
  // a key of its own id that nothing refers to until the script, which may still refuse the
  // write and then deletes it; until then it expires on its own.
  const staged = write.size > LARGE_VALUE;
  const type = Buffer.isBuffer(value) ? 'b' : 's';
  try {
    const stored = await breaker.run(async () => {
      if (staged) {
        await client.set(valueName(Buffer.from(id), bucket), value, 'PX', STAGED_TTL_MS);
      }
      return runScript(
        client,
        SET,
        [metadataName(key, bucket)],
        [
          parts.prefix,
          bucket,
          parts.scopes.of(bucket),
          encodeString(key),
          id,
          staged ? '' : value,
          staged ? type.toUpperCase() : type,
          write.metadataJson,
          write.ttl === undefined ? 0 : write.ttl * 1000,
          lease?.clock.id ?? '',
          lease?.clock.n ?? '0',
          VERSION_TTL_MS,
          lease?.lock ?? '',
          ...[...new Set(write.tags)].map(encodeString),
        ],
      );
    });
    if (lease) lease.lock = undefined; // the script released it
    return stored === 1;
  } finally {
    parts.wrote(key, bucket);
  }
}
