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

/**
 * Cache-Control directives (RFC 9111 5.2): lower-cased names mapped to their arguments, unquoted
 * ('' when there is none). A quoted argument may hold commas and `=`; the first occurrence of a
 * directive wins.
 */
export function cacheControl(value: string | undefined): Map<string, string> {
  const directives = new Map<string, string>();
  if (!value) return directives;
  let i = 0;
  while (i < value.length) {
    const nameEnd = indexOfAny(value, ',=', i);
    const name = value.slice(i, nameEnd).trim().toLowerCase();
    let argument = '';
    i = nameEnd;
    if (value[i] === '=') {
      i++;
      if (value[i] === '"') {
        // quoted-string: backslash escapes the next character (RFC 9110 5.6.4).
        for (i++; i < value.length && value[i] !== '"'; i++) {
          if (value[i] === '\\') i++;
          argument += value[i] ?? '';
        }
        i++;
        i = indexOfAny(value, ',', i);
      } else {
        const end = indexOfAny(value, ',', i);
        argument = value.slice(i, end).trim();
        i = end;
      }
    }
    i++; // past the comma
    if (name && !directives.has(name)) directives.set(name, argument);
  }
  return directives;
}

function indexOfAny(value: string, chars: string, from: number): number {
  for (let i = from; i < value.length; i++) if (chars.includes(value.charAt(i))) return i;
  return value.length;
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
