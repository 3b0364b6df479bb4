import { RedisCacheStore, StoreClosedError } from '@restash/core';

const store = new RedisCacheStore({ clientOpts: { host: 'localhost', keyPrefix: 'app:' } });

await store.set('product:7', JSON.stringify({ id: 7 }), { etag: '"v1"' }, 60, ['products']);
const entry = await store.get('product:7'); // { value, metadata }, or undefined on a miss
await store.invalidateTags(['products']); // → 1: every entry tagged 'products' is gone
await store.close();
await store.get('product:7').catch((err: unknown) => {
  if (!(err instanceof StoreClosedError)) throw err; // same as err.code === StoreClosedError.code
});
export { entry };
