import { Cluster } from 'ioredis';
import { RedisCacheStore } from '@restash/core';

const store = new RedisCacheStore({
  cluster: {
    nodes: [
      { host: 'redis-0', port: 6379 },
      { host: 'redis-1', port: 6379 },
    ],
    options: { keyPrefix: 'shop:', redisOptions: { password: process.env.REDIS_PASSWORD } },
  },
});
// or, with your own ioredis Cluster:
const yours = new RedisCacheStore({
  client: new Cluster([{ host: 'redis-0', port: 6379 }], { keyPrefix: 'shop:' }),
});
export { store, yours };
