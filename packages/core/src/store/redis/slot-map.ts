import type { NatMap } from 'ioredis';

/** Number of hash slots of a Redis Cluster. */
export const SLOTS = 16384;

/** Where a cluster node answers, after NAT mapping. */
export interface NodeAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Which master serves each hash slot, as one node's CLUSTER SLOTS reply says. Slots nobody serves
 * (or served by a node we cannot address) have no owner: reads for them bypass the local tier.
 */
export class SlotMap {
  /** Node key (`host:port`) of each slot's master, `undefined` for an unserved slot. */
  readonly #owners: (string | undefined)[];
  /** The masters, by node key. */
  readonly masters: ReadonlyMap<string, NodeAddress>;
  /** How many slots have no (addressable) master. */
  readonly unowned: number;

  private constructor(owners: (string | undefined)[], masters: Map<string, NodeAddress>) {
    this.#owners = owners;
    this.masters = masters;
    this.unowned = owners.reduce((n, owner) => (owner === undefined ? n + 1 : n), 0);
  }

  /** A map in which no slot has an owner: everything bypasses the local tier. */
  static empty(): SlotMap {
    return new SlotMap(new Array<string | undefined>(SLOTS).fill(undefined), new Map());
  }

  /**
   * Parses a CLUSTER SLOTS reply: `[start, end, [host, port, id, …], …replicas]` per range. An
   * empty host means "the node you asked" (Redis 7 may say so): `asked` then stands for it.
   */
  static parse(reply: unknown, natMap: NatMap | undefined, asked?: NodeAddress): SlotMap {
    const owners = new Array<string | undefined>(SLOTS).fill(undefined);
    const masters = new Map<string, NodeAddress>();
    if (!Array.isArray(reply)) throw new Error('CLUSTER SLOTS replied with a non-array');
    for (const range of reply as unknown[]) {
      if (!Array.isArray(range)) continue;
      const [start, end, master] = range as [unknown, unknown, unknown];
      if (typeof start !== 'number' || typeof end !== 'number' || !Array.isArray(master)) continue;
      const [rawHost, port] = master as [unknown, unknown];
      const host = rawHost === '' ? asked?.host : rawHost;
      if (typeof host !== 'string' || host === '?' || typeof port !== 'number') continue;
      const address = mapAddress({ host, port }, natMap);
      const key = `${address.host}:${address.port}`;
      masters.set(key, address);
      for (let slot = Math.max(0, start); slot <= Math.min(end, SLOTS - 1); slot++) {
        owners[slot] = key;
      }
    }
    return new SlotMap(owners, masters);
  }

  /** Node key of the master serving `slot`, if known. */
  ownerOf(slot: number): string | undefined {
    return this.#owners[slot];
  }

  /** Whether every slot has the same owner in both maps. */
  equals(other: SlotMap): boolean {
    for (let slot = 0; slot < SLOTS; slot++) {
      if (this.#owners[slot] !== other.#owners[slot]) return false;
    }
    return true;
  }
}

/** Applies ioredis's `natMap` the way the Cluster client does, so we reach the same nodes. */
function mapAddress(address: NodeAddress, natMap: NatMap | undefined): NodeAddress {
  const key = `${address.host}:${address.port}`;
  const mapped = typeof natMap === 'function' ? natMap(key) : natMap?.[key];
  return mapped ? { host: mapped.host, port: mapped.port } : address;
}
