import { deserialize, serialize } from 'node:v8';

/** How `wrap` turns values into what the store keeps, and back. */
export interface Codec {
  /** A short name kept with each entry: an entry another codec wrote is a miss, not garbage. */
  readonly name: string;
  /** What the store keeps for `value`; it may throw for a value it cannot represent. */
  encode(value: unknown): string | Buffer;
  /** The value back from what `encode` returned (a string may come back as a `Buffer`). */
  decode(stored: string | Buffer): unknown;
}

/** JSON: what most values are, readable in Redis. The default. */
export const JSON_CODEC: Codec = {
  name: 'json',
  encode: (value) => JSON.stringify(value),
  decode: (stored) => JSON.parse(String(stored)) as unknown,
};

/** Node's structured clone (`v8.serialize`): Maps, Sets, Dates, BigInts, typed arrays, cycles. */
export const V8_CODEC: Codec = {
  name: 'v8',
  encode: (value) => serialize(value),
  decode: (stored) =>
    deserialize(Buffer.isBuffer(stored) ? stored : Buffer.from(stored)) as unknown,
};
