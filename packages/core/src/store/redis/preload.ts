import type { Cluster, Redis } from 'ioredis';
import type { ErrorReporter } from '../../report.js';
import { isCluster } from './options.js';
import { SCRIPTS } from './scripts.js';

// Scripts are sent by SHA; a server that does not know one answers NOSCRIPT and the store sends
// the whole source instead. After a start, a restart or a failover every server's script cache is
// empty, and every call in flight would do that at once (each invalidation step, each read):
// loading the scripts as soon as a connection is ready spares the burst.

/**
 * Loads the store's scripts into each server `client` reaches whenever a connection to it becomes
 * ready (for a cluster, every node, replicas too: one may be promoted). Returns the function that
 * stops listening.
 */
export function preloadScripts(client: Redis | Cluster, report: ErrorReporter): () => void {
  const load = (conn: Redis) => (): void => {
    void Promise.all(SCRIPTS.map((s) => conn.script('LOAD', s.lua))).catch(report);
  };
  if (!isCluster(client)) {
    const onReady = load(client);
    client.on('ready', onReady);
    if (client.status === 'ready') onReady();
    return () => void client.off('ready', onReady);
  }
  const watched = new Map<Redis, () => void>();
  const watch = (node: Redis): void => {
    if (watched.has(node)) return;
    const onReady = load(node);
    watched.set(node, onReady);
    node.on('ready', onReady);
    if (node.status === 'ready') onReady();
  };
  const unwatch = (node: Redis): void => {
    const onReady = watched.get(node);
    if (onReady) node.off('ready', onReady);
    watched.delete(node);
  };
  client.nodes().forEach(watch);
  client.on('+node', watch);
  client.on('-node', unwatch);
  return () => {
    client.off('+node', watch);
    client.off('-node', unwatch);
    for (const node of [...watched.keys()]) unwatch(node);
  };
}
