import { decodeName } from './encoding.js';
import type { Scopes } from './layout.js';
import { versionId, type LocalTier } from './local-tier.js';

// What changes in Redis mean for the local tier, which keys entries by their metadata key
// (keyPrefix included) and tag versions by scope and tag.

/** A tracking message named `name`: an entry's metadata key, or a tag version, changed. */
export function applyMessage<M extends object>(
  local: LocalTier<M>,
  prefix: string,
  name: Buffer,
): void {
  const changed = decodeName(name);
  const versions = `${prefix}tv:{`;
  if (!changed.startsWith(versions)) return local.invalidate(changed);
  const close = changed.indexOf('}', versions.length);
  const scope = Number(changed.slice(versions.length, close));
  local.invalidateVersion(versionId(scope, changed.slice(close + 1)));
}

/** Drops the local copies of entries carrying `tags`, in every scope. */
export function forgetTags<M extends object>(
  local: LocalTier<M>,
  scopes: Scopes,
  tags: readonly string[],
): void {
  for (const scope of scopes.all) {
    for (const tag of tags) local.invalidateVersion(versionId(scope, tag));
  }
}
