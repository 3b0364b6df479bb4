import { sizeById } from './sizes.js';
import { productList, type ProductList } from './work.js';

/**
 * The route handler's work, counted: the runner reads `runs` to check that hit modes never reach
 * the handler during a measured window (a cache that quietly misses would look like a fast cache).
 */
export interface Origin {
  runs: number;
  /** The list for a size id from the path, or `undefined` for an unknown size. */
  products(sizeId: string): Promise<ProductList | undefined>;
}

export function createOrigin(): Origin {
  const origin: Origin = {
    runs: 0,
    products(sizeId) {
      const size = sizeById(sizeId);
      if (!size) return Promise.resolve(undefined);
      origin.runs++;
      return productList(size);
    },
  };
  return origin;
}
