import type { LockState } from '../fill-locks.js';

// Reading what the scripts reply (see scripts.ts), as Buffers so values stay byte-exact.

/** The items of a list the scripts pack into one field: '<byte length>:<bytes>' per item. */
export function splitPacked(packed: Buffer): Buffer[] {
  const items: Buffer[] = [];
  let pos = 0;
  while (pos < packed.length) {
    const colon = packed.indexOf(0x3a, pos);
    const length = Number(packed.toString('latin1', pos, colon));
    items.push(packed.subarray(colon + 1, colon + 1 + length));
    pos = colon + 1 + length;
  }
  return items;
}

/** What the GET script found. */
export type GetReply =
  | {
      hit: true;
      metadataJson: Buffer;
      /** The value, or for a large (or unread) one `undefined`. */
      value: Buffer | undefined;
      /** The value's id (it names one value and metadata for good). */
      valueId: Buffer | undefined;
      /** 'b' for a Buffer, 's' for a string. */
      type: string;
      /** Remaining TTL in ms, -1 for none. */
      pttl: number;
      /** The entry's tags, as stored (encoded). */
      tags: Buffer[];
    }
  | {
      /** The entry whose value id the caller sent: it has it already. */
      hit: 'known';
      pttl: number;
    }
  | {
      hit: false;
      /** The script removed an entry that had lost its value or a field. */
      broken: boolean;
      /** The scope's clock for a lease, unless none could be taken. */
      clock: Clock | undefined;
      /** The fill lock, when one was asked for and could be read or taken. */
      lock: LockState | undefined;
    };

/** A scope's clock: its incarnation id and counter. */
export interface Clock {
  id: string;
  n: string;
}

type HitReply = [1 | 2, Buffer, Buffer, Buffer, number, Buffer, Buffer?];
type KnownReply = [3, number];
type MissReply = [0, 0 | 1, Buffer?, Buffer?, (0 | 1 | 2)?, Buffer?, number?];

export function parseGetReply(reply: unknown): GetReply {
  const kind = (reply as HitReply | MissReply | KnownReply)[0];
  if (kind === 3) return { hit: 'known', pttl: (reply as KnownReply)[1] };
  if (kind !== 0) {
    const [, metadataJson, value, type, pttl, tags, id] = reply as HitReply;
    return {
      hit: true,
      metadataJson,
      value: kind === 1 ? value : undefined,
      valueId: kind === 2 ? value : id,
      type: type.toString(),
      pttl,
      tags: splitPacked(tags),
    };
  }
  const [, broken, id, n, lock, holder, pttl] = reply as MissReply;
  return {
    hit: false,
    broken: broken === 1,
    clock: id && n ? toClock([id, n]) : undefined,
    lock: lockState(lock, holder, pttl),
  };
}

/** What the LEASE script replied: the scope's clock, and the fill lock when one was asked for. */
export function parseLeaseReply(reply: unknown): { clock: Clock; lock: LockState | undefined } {
  const [id, n, lock, holder, pttl] = reply as [string, string, (0 | 1 | 2)?, string?, number?];
  return { clock: toClock([id, n]), lock: lockState(lock, holder, pttl) };
}

function lockState(
  lock: 0 | 1 | 2 | undefined,
  holder: Buffer | string | undefined,
  pttl: number | undefined,
): LockState | undefined {
  if (lock === 1) return { state: 'taken' };
  if (lock === 2) return { state: 'passed' };
  if (lock === 0 && holder) return { state: 'busy', holder: String(holder), expiresIn: pttl ?? 0 };
  return undefined;
}

/** A clock as the LEASE script (or a miss of GET) replies it. */
export function toClock(reply: unknown): Clock {
  const [id, n] = reply as [Buffer | string, Buffer | string];
  return { id: String(id), n: String(n) };
}
