export { startRedis, type CommandLog, type RedisHandle } from './redis';
export { startRedisCluster, type ClusterHandle, type ClusterNode } from './cluster';
export { TcpProxy, type ProxiedConnection } from './tcp-proxy';
export { waitFor } from './wait';
