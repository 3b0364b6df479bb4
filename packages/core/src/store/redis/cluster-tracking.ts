import calculateSlot from 'cluster-key-slot';
import { Redis, type Cluster } from 'ioredis';
import { trackingLog } from './debug.js';
import { RESILIENT_DEFAULTS } from './options.js';
import { SlotMap, type NodeAddress } from './slot-map.js';
import { Tracker, trackerOptions, type TrackerListener } from './tracker.js';
import type { Tracking } from './tracking.js';

/**
 * Replies from a node that does not (or not yet, or no longer) serve a key. A read that gets one
 * did not run there, so it was not tracked there: it must not fill the local tier.
 */
const REDIRECT = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b/;

/**
 * CLIENT TRACKING on a Redis Cluster. Redis tracks reads per node and tells a client only about
 * writes on the node that served its read, so coherence needs, for every slot:
 *
 * 1. one {@link Tracker} per master, with its reader and its invalidation subscriber both on that
 *    master (a REDIRECT target must live on the same node as the tracked client);
 * 2. reads that fill the local tier sent to the tracker of the master serving the key's slot, and
 *    a read that is redirected (MOVED/ASK: the slot is moving or moved) filling nothing;
 * 3. the local tier flushed whenever a slot's master changes: the old master's tracking will never
 *    hear of writes on the new one. (It usually does hear of the move itself — MIGRATE deletes
 *    the source keys, and a demoted master replays the new master's writes — but MIGRATE COPY, a
 *    forced SETSLOT or a master cut off from the cluster would leave old copies unnoticed.)
 *
 * The slot map comes from CLUSTER SLOTS, asked of every tracked master each health check and
 * whenever something hints at a change (a redirect, a tracker losing a connection, the Cluster
 * client refreshing its own map). Masters that disagree mean a failover or migration is under
 * way: the local tier is then flushed and bypassed entirely until they agree again. While a
 * slot's master is unknown or its tracker is not (yet, or no longer) confirmed, reads of that slot
 * go through the Cluster client and are not kept.
 *
 * What this cannot close: between a failover completing and the next check (at most one health
 * check period), a master that was cut off from the cluster but not from us may still vouch for
 * entries that were overwritten on its successor — the same window in which Redis Cluster itself
 * routes clients with an old map to the old master.
 */
export class ClusterTracking implements Tracking {
  readonly #client: Cluster;
  readonly #listener: TrackerListener;
  readonly #healthCheckMs: number;
  readonly #versionPrefix: string;
  /** A tracker per master, by node key, with the address it connects to. */
  readonly #trackers = new Map<string, { tracker: Tracker; address: NodeAddress }>();
  readonly #timer: NodeJS.Timeout;
  /** The slot map reads are routed by; empty (everything bypassed) until the masters agree. */
  #map = SlotMap.empty();
  #syncing = false;
  #syncAgain = false;
  #closed = false;

  constructor(
    client: Cluster,
    listener: TrackerListener,
    healthCheckMs: number,
    versionPrefix: string,
  ) {
    this.#client = client;
    this.#listener = listener;
    this.#healthCheckMs = healthCheckMs;
    this.#versionPrefix = versionPrefix;
    for (const event of TOPOLOGY_EVENTS) client.on(event, this.#poke);
    this.#timer = setInterval(this.#poke, healthCheckMs);
    this.#timer.unref();
    this.#poke();
  }

  readerFor(redisKey: string): Redis | undefined {
    const owner = this.#map.ownerOf(calculateSlot(redisKey));
    const tracker = owner === undefined ? undefined : this.#trackers.get(owner)?.tracker;
    return tracker?.ready ? tracker.reader : undefined;
  }

  redirected(err: unknown): boolean {
    if (!(err instanceof Error) || !REDIRECT.test(err.message)) return false;
    // Our map is behind the cluster's: find out now rather than at the next check.
    this.#poke();
    return true;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    for (const event of TOPOLOGY_EVENTS) this.#client.off(event, this.#poke);
    const trackers = [...this.#trackers.values()];
    this.#trackers.clear();
    await Promise.all(trackers.map(({ tracker }) => tracker.close()));
  }

  /** Schedules a sync; syncs never overlap, and one asked for during a sync runs after it. */
  #poke = (): void => {
    if (this.#closed) return;
    if (this.#syncing) {
      this.#syncAgain = true;
      return;
    }
    this.#syncing = true;
    void this.#syncLoop();
  };

  async #syncLoop(): Promise<void> {
    try {
      do {
        this.#syncAgain = false;
        await this.#sync();
      } while (this.#syncAgain && !this.#closed);
    } catch (err) {
      this.#listener.error(err);
    } finally {
      this.#syncing = false;
    }
  }

  async #sync(): Promise<void> {
    const views = await this.#views();
    if (this.#closed) return;
    const [first, ...others] = views;
    // Nobody answered: trackers whose connections dropped already stopped vouching, and the
    // others keep vouching for their nodes as before.
    if (!first) return;
    if (others.some((view) => !view.equals(first))) {
      // Masters disagree about who serves what: a failover or migration is under way. Nothing
      // can be vouched for until they agree; the trackers stay, as their tracking is still valid.
      if (this.#map.masters.size > 0) {
        trackingLog('cluster masters disagree on the slot map: the local tier is bypassed');
      }
      this.#replaceMap(SlotMap.empty());
      return;
    }
    this.#replaceMap(first);
    this.#reconcile(first);
  }

  /** The slot map as each tracked master sees it (or, before we track a master, as one node sees it). */
  async #views(): Promise<SlotMap[]> {
    const natMap = this.#client.options.natMap;
    const asks: Promise<SlotMap>[] = [];
    for (const { tracker, address } of this.#trackers.values()) {
      const { reader } = tracker;
      if (reader.status !== 'ready') continue;
      asks.push(reader.cluster('SLOTS').then((reply) => SlotMap.parse(reply, natMap, address)));
    }
    if (asks.length === 0 && this.#client.status === 'ready') {
      asks.push(this.#client.cluster('SLOTS').then((reply) => SlotMap.parse(reply, natMap)));
    }
    const settled = await Promise.allSettled(asks);
    const views: SlotMap[] = [];
    for (const result of settled) {
      if (result.status === 'fulfilled') views.push(result.value);
      else if (!this.#closed) this.#listener.error(result.reason);
    }
    return views;
  }

  /** Switches reads to `map`; if any slot changed hands, nothing cached locally is vouched for. */
  #replaceMap(map: SlotMap): void {
    if (map.equals(this.#map)) return;
    const wasServing = this.#map.masters.size > 0;
    if (trackingLog.enabled && map.masters.size > 0) {
      const masters = [...map.masters.keys()].join(', ');
      const unowned = map.unowned > 0 ? `, ${map.unowned} slots without one` : '';
      trackingLog(
        'cluster slot map %s: masters %s%s',
        wasServing ? 'changed' : 'learnt',
        masters,
        unowned,
      );
    }
    this.#map = map;
    this.#listener.reset();
    if (wasServing) {
      this.#listener.error(
        new Error(
          'Redis Cluster slots changed masters: the local tier was flushed and is bypassed ' +
            'for those slots until tracking is confirmed on their masters',
        ),
      );
    }
    if (map.masters.size > 0 && map.unowned > 0) {
      this.#listener.error(
        new Error(
          `${map.unowned} Redis Cluster slots have no master we can address (CLUSTER SLOTS): ` +
            'reads of them bypass the local tier',
        ),
      );
    }
  }

  /** One tracker per current master: new masters get one, former masters lose theirs. */
  #reconcile(map: SlotMap): void {
    for (const [key, { tracker }] of this.#trackers) {
      if (map.masters.has(key)) continue;
      trackingLog('%s: no longer a master: its tracker closes', key);
      this.#trackers.delete(key);
      void tracker.close();
    }
    for (const [key, address] of map.masters) {
      if (!this.#trackers.has(key))
        this.#trackers.set(key, { tracker: this.#track(key, address), address });
    }
  }

  #track(key: string, address: NodeAddress): Tracker {
    const base = this.#client.options.redisOptions ?? {};
    const tracker: Tracker = new Tracker(
      (role) =>
        new Redis({
          ...base,
          host: address.host,
          port: address.port,
          // Direct connections to one node: the Cluster client's prefix must be ours too.
          keyPrefix: this.#client.options.keyPrefix,
          lazyConnect: false,
          readOnly: false,
          retryStrategy: RESILIENT_DEFAULTS.retryStrategy,
          ...trackerOptions(base, role),
        }),
      {
        invalidate: (keys) => this.#listener.invalidate(keys),
        reset: () => {
          this.#listener.reset();
          // A connection to a master dropped: it may have died and be replaced. Look now.
          if (this.#trackers.get(key)?.tracker === tracker) this.#poke();
        },
        error: (err) => this.#listener.error(err),
      },
      this.#healthCheckMs,
      this.#versionPrefix,
    );
    return tracker;
  }
}

/** Cluster client events that may mean the slot map changed. */
const TOPOLOGY_EVENTS = ['ready', 'refresh', '+node', '-node'] as const;
