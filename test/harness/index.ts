export { startRedis, type CommandLog, type RedisHandle } from './redis';
export { startRedisCluster, type ClusterHandle, type ClusterNode } from './cluster';
export { startRedisSentinel, type SentinelHandle } from './sentinel';
export { TcpProxy, type ProxiedConnection } from './tcp-proxy';
export { waitFor } from './wait';
