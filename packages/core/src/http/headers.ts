import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

type Headers = IncomingHttpHeaders | OutgoingHttpHeaders;

/** A header's value as one string (list headers joined with ", "), or `undefined`. */
export function headerValue(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/** The lower-cased members of a comma-separated list header (Vary, Connection, …). */
export function listTokens(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter((token) => token.length > 0);
}

/** Cache-Control directive names (lower-cased) mapped to their values ('' when valueless). */
export function cacheControl(value: string | undefined): Map<string, string> {
  const directives = new Map<string, string>();
  for (const part of (value ?? '').split(',')) {
    const [name = '', ...rest] = part.split('=');
    const key = name.trim().toLowerCase();
    if (key) directives.set(key, rest.join('=').trim().replace(/^"|"$/g, ''));
  }
  return directives;
}

/**
 * The strings of a Cache-Groups field (RFC 9875: a structured-field list of strings). Parameters
 * are ignored; a malformed field yields no groups, as the RFC asks.
 */
export function parseCacheGroups(value: string | undefined): string[] {
  const groups: string[] = [];
  if (!value) return groups;
  let i = 0;
  const skipSpace = (): void => {
    while (value[i] === ' ' || value[i] === '\t') i++;
  };
  while (i < value.length) {
    skipSpace();
    if (value[i] !== '"') return [];
    let group = '';
    for (i++; value[i] !== '"'; i++) {
      if (i >= value.length) return [];
      if (value[i] === '\\') i++;
      group += value[i];
    }
    groups.push(group);
    i++;
    // Skip parameters (;name=value) up to the next member.
    while (i < value.length && value[i] !== ',') {
      if (value[i] === '"') return [];
      i++;
    }
    i++;
  }
  return groups;
}
