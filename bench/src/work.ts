import { setTimeout as sleep } from 'node:timers/promises';
import { SIZES, type BodySize } from './sizes.js';

// The work the benchmarked route does when it runs (the bare route every time, a cached route on
// a miss): wait for a simulated database query, then build a product list of the requested size
// afresh, as a real list endpoint would. A hit skips all of it.

/** Simulated database latency per request, in milliseconds: it costs time, not CPU. */
export const DB_LATENCY_MS = 2;

/** One product of the list. */
export interface Product {
  id: number;
  sku: string;
  name: string;
  category: string;
  price: number;
  stock: number;
  description: string;
  updatedAt: string;
}

export interface ProductList {
  items: Product[];
  total: number;
}

const CATEGORIES = ['books', 'hardware', 'pantry', 'garden', 'toys'] as const;

function product(i: number): Product {
  return {
    id: i,
    sku: `SKU-${String(i).padStart(6, '0')}`,
    name: `Product number ${i}`,
    category: CATEGORIES[i % CATEGORIES.length]!,
    price: Math.round(((i * 7.31) % 100) * 100) / 100,
    stock: (i * 13) % 250,
    description: `A fine product, the ${i}th of its kind, described in a sentence or two.`,
    updatedAt: new Date(Date.UTC(2025, 0, 1 + (i % 28))).toISOString(),
  };
}

function build(count: number): ProductList {
  const items: Product[] = [];
  for (let i = 1; i <= count; i++) items.push(product(i));
  return { items, total: count };
}

/** The most products whose list fits in `bytes` of JSON (a binary search: length grows with count). */
function countFor(bytes: number): number {
  let low = 1;
  let high = Math.ceil(bytes / 100);
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (Buffer.byteLength(JSON.stringify(build(mid))) <= bytes) low = mid;
    else high = mid - 1;
  }
  return low;
}

const COUNTS = new Map(SIZES.map((size) => [size.id, countFor(size.bytes)]));

/** The list a product route answers with, built afresh after the simulated query. */
export async function productList(size: BodySize): Promise<ProductList> {
  await sleep(DB_LATENCY_MS);
  return build(COUNTS.get(size.id)!);
}

/** The exact bytes of a size's list as JSON (what the framework sends), for the store benchmark. */
export function productBytes(size: BodySize): Buffer {
  return Buffer.from(JSON.stringify(build(COUNTS.get(size.id)!)));
}
