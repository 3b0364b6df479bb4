import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';

// The least-privilege ACL as the README's production checklist gives it: the tests apply the very line
// (and the additions the checklist names), so the documentation cannot drift from what works.

export const USER = 'restash';
export const PASSWORD = 'acl-test-password';
/** The prefix the documented line grants. */
export const PREFIX = 'shop:';

const CHECKLIST = path.join(__dirname, '../../README.md');

/**
 * The rules after `ACL SETUSER restash` in the checklist, with the test's password, adjusted as it
 * says: for the server `info` (INFO server) describes, for a cluster, without tracking.
 */
export function documentedRules(info: string, { cluster = false, tracking = true } = {}): string[] {
  const doc = readFileSync(CHECKLIST, 'utf8');
  const found = (pattern: RegExp, what: string): string => {
    const match = pattern.exec(doc)?.[1];
    if (match === undefined) throw new Error(`README.md: no ${what}`);
    return match;
  };
  let rules = words(found(/^\s*ACL SETUSER restash (.+)$/m, 'ACL SETUSER line')).map((rule) =>
    rule === '>PASSWORD' ? `>${PASSWORD}` : rule,
  );
  const version = /^redis_version:(\d+)\.(\d+)/m.exec(info);
  if (version && Number(version[1]) * 100 + Number(version[2]) >= 702)
    rules.push(...words(found(/Redis 7\.2\+:\s+add\s+`([^`]+)`/, 'Redis 7.2 addition')));
  if (cluster) rules.push(...words(found(/Cluster:\s+add\s+`([^`]+)`/, 'cluster addition')));
  if (!tracking) {
    const drop = /`tracking: false`\*\*, drop `([^`]+)` and\s+`([^`]+)`/.exec(doc);
    if (!drop) throw new Error('README.md: no rules to drop without tracking');
    const dropped = new Set(words(`${drop[1]} ${drop[2]}`));
    const kept = rules.filter((rule) => !dropped.has(rule));
    if (kept.length !== rules.length - dropped.size) throw new Error('a rule to drop is not there');
    rules = kept;
  }
  return rules;
}

function words(text: string): string[] {
  return text.trim().split(/\s+/);
}

/** One refusal in ACL LOG. */
export interface Denial {
  username: string;
  /** 'toplevel', or 'lua' inside a script. */
  context: string;
  /** The command, key or channel refused. */
  object: string;
}

/** What `conn`'s server refused since the last `ACL LOG RESET`. */
export async function denials(conn: Redis): Promise<Denial[]> {
  const log = (await conn.call('ACL', 'LOG', '1000')) as unknown[][];
  return log.map((entry) => {
    const fields = new Map<string, unknown>();
    for (let i = 0; i < entry.length; i += 2) fields.set(String(entry[i]), entry[i + 1]);
    return {
      username: String(fields.get('username')),
      context: String(fields.get('context')),
      object: String(fields.get('object')),
    };
  });
}
