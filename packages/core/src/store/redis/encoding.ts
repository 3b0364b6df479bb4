// Keys and tags are JavaScript strings, and any string is valid: a tag or user id may come from a
// request body and hold a lone surrogate, which UTF-8 cannot carry (ioredis would send U+FFFD for
// every one of them, merging distinct strings). So strings reach Redis as bytes that map back to
// exactly one string: well-formed strings as their UTF-8, the others as a 0xFF marker (a byte
// UTF-8 never uses) followed by their UTF-16LE code units.

/** Where a string's bytes start in a Redis name: the marker, if the string was not well-formed. */
const MARKER = 0xff;

/** A string as ioredis should send it: itself when well-formed, else its marked UTF-16LE bytes. */
export function encodeString(value: string): string | Buffer {
  return isWellFormed(value) ? value : Buffer.concat([Buffer.of(MARKER), utf16(value)]);
}

/** `head` (well-formed, e.g. a key prefix and layout name) followed by the encoded `value`. */
export function redisName(head: string, value: string): string | Buffer {
  const encoded = encodeString(value);
  return typeof encoded === 'string' ? head + encoded : Buffer.concat([Buffer.from(head), encoded]);
}

/** The string a Redis name built by {@link redisName} stands for: `head + value`. */
export function decodeName(bytes: Buffer): string {
  const marker = bytes.indexOf(MARKER);
  if (marker === -1) return bytes.toString('utf8');
  return bytes.toString('utf8', 0, marker) + bytes.toString('utf16le', marker + 1);
}

function utf16(value: string): Buffer {
  return Buffer.from(value, 'utf16le');
}

const wellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;

/** Whether `value` has no lone surrogate (String.prototype.isWellFormed, Node 20+). */
function isWellFormed(value: string): boolean {
  return wellFormed ? wellFormed.call(value) : !/\p{Surrogate}/u.test(value);
}
