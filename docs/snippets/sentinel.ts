import { Redis } from 'ioredis';
import { RedisCacheStore } from '@restash/core';

const store = new RedisCacheStore({
  sentinel: {
    sentinels: [
      { host: 'sentinel-0', port: 26379 },
      { host: 'sentinel-1', port: 26379 },
      { host: 'sentinel-2', port: 26379 },
    ],
    name: 'mymaster', // as in `sentinel monitor mymaster …`
  },
  // The data connections' options, and ioredis's sentinel options:
  clientOpts: {
    keyPrefix: 'shop:',
    password: process.env.REDIS_PASSWORD,
    sentinelPassword: process.env.SENTINEL_PASSWORD,
  },
});
// or, with your own ioredis client (turn its failover detector on):
const yours = new RedisCacheStore({
  client: new Redis({
    sentinels: [{ host: 'sentinel-0', port: 26379 }],
    name: 'mymaster',
    failoverDetector: true,
  }),
});
export { store, yours };
