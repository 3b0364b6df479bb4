import { RedisCacheStore } from '@restash/core';

const logger = console;
const user = { id: 1, name: 'Ada' };

const store = new RedisCacheStore({
  clientOpts: {
    host: 'redis.internal',
    port: 6379,
    password: process.env.REDIS_PASSWORD,
    keyPrefix: 'shop:',
  },
  errorCallback: (err) => logger.warn('redis cache', err),
});

await store.set('user:1', JSON.stringify(user), { etag: '"v7"' }, 60, ['users']); // ttl in seconds
const entry = await store.get('user:1'); // { value: string | Buffer, metadata } | undefined
await store.invalidateTags(['users']); // → 1 entry removed
await store.delete('user:1');
await store.close();
export { entry };
