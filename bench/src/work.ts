import { setTimeout as sleep } from 'node:timers/promises';

// The work every benchmarked product route does on a miss, the same for both frameworks: wait
// for a simulated database query, then build a 100-product JSON list, as a realistic list
// endpoint would. A hit skips all of it.

/** Simulated database latency per request, in milliseconds. */
export const DB_LATENCY_MS = 2;

/** Products per list. */
export const LIST_SIZE = 100;

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

const CATEGORIES = ['books', 'hardware', 'pantry', 'garden', 'toys'] as const;

/** The list a product route answers with, built afresh each call after the simulated query. */
export async function productList(): Promise<{ items: Product[]; total: number }> {
  await sleep(DB_LATENCY_MS);
  const items: Product[] = [];
  for (let i = 1; i <= LIST_SIZE; i++) {
    items.push({
      id: i,
      sku: `SKU-${String(i).padStart(6, '0')}`,
      name: `Product number ${i}`,
      category: CATEGORIES[i % CATEGORIES.length]!,
      price: Math.round(((i * 7.31) % 100) * 100) / 100,
      stock: (i * 13) % 250,
      description: `A fine product, the ${i}th of its kind, described in a sentence or two.`,
      updatedAt: new Date(Date.UTC(2025, 0, 1 + (i % 28))).toISOString(),
    });
  }
  return { items, total: LIST_SIZE };
}

/** The zero-work answer: the framework's ceiling. */
export const HELLO = { hello: 'world' };
