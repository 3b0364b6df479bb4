import { setTimeout as sleep } from 'node:timers/promises';

/** A product as the API shows it. */
export interface Product {
  id: number;
  name: string;
  category: string;
  price: number;
}

/** What a client sends to create or replace a product. */
export type ProductInput = Omit<Product, 'id'>;

/** One page of a product list. */
export interface ProductPage {
  items: Product[];
  page: number;
  pageSize: number;
  total: number;
}

const SEED: ProductInput[] = [
  { name: 'The Pragmatic Programmer', category: 'books', price: 42 },
  { name: 'Designing Data-Intensive Applications', category: 'books', price: 48 },
  { name: 'Structure and Interpretation of Computer Programs', category: 'books', price: 55 },
  { name: 'Release It!', category: 'books', price: 38 },
  { name: 'Refactoring', category: 'books', price: 45 },
  { name: 'Mechanical keyboard', category: 'hardware', price: 129 },
  { name: 'USB-C dock', category: 'hardware', price: 89 },
  { name: '27" monitor', category: 'hardware', price: 279 },
  { name: 'Noise-cancelling headphones', category: 'hardware', price: 199 },
  { name: 'Coffee beans, 1 kg', category: 'pantry', price: 24 },
  { name: 'Green tea, 100 bags', category: 'pantry', price: 9 },
  { name: 'Dark chocolate', category: 'pantry', price: 4 },
];

/**
 * An in-memory stand-in for a database. Every call waits `latencyMs` first, as a query over the
 * network would, so the difference between a cache hit and a miss shows in response times; and
 * counts itself in `queries`, so a demo (or a test) can see that a hit never got here.
 */
export class Catalogue {
  /** Queries answered so far. */
  queries = 0;
  readonly #products = new Map<number, Product>();
  readonly #favourites = new Map<string, Set<number>>();
  #nextId = 1;

  constructor(readonly latencyMs = 5) {
    for (const input of SEED) this.#insert(input);
  }

  /** Products in id order, optionally of one category, `pageSize` per page (pages from 1). */
  async list(query: { category?: string; page: number; pageSize: number }): Promise<ProductPage> {
    await this.#query();
    const { category, page, pageSize } = query;
    const all = [...this.#products.values()].filter(
      (p) => category === undefined || p.category === category,
    );
    const items = all.slice((page - 1) * pageSize, page * pageSize);
    return { items, page, pageSize, total: all.length };
  }

  async get(id: number): Promise<Product | undefined> {
    await this.#query();
    return this.#products.get(id);
  }

  async create(input: ProductInput): Promise<Product> {
    await this.#query();
    return this.#insert(input);
  }

  /** Replaces a product; `undefined` when there is none with that id. */
  async update(id: number, input: ProductInput): Promise<Product | undefined> {
    await this.#query();
    if (!this.#products.has(id)) return undefined;
    const product = { id, ...input };
    this.#products.set(id, product);
    return product;
  }

  /** Deletes a product; `false` when there was none with that id. */
  async remove(id: number): Promise<boolean> {
    await this.#query();
    for (const set of this.#favourites.values()) set.delete(id);
    return this.#products.delete(id);
  }

  /** The products `user` marked as favourite. */
  async favourites(user: string): Promise<Product[]> {
    await this.#query();
    const ids = [...(this.#favourites.get(user) ?? [])];
    return ids.flatMap((id) => this.#products.get(id) ?? []);
  }

  /** Marks a product as one of `user`'s favourites; `false` when there is no such product. */
  async addFavourite(user: string, id: number): Promise<boolean> {
    await this.#query();
    if (!this.#products.has(id)) return false;
    let set = this.#favourites.get(user);
    if (!set) this.#favourites.set(user, (set = new Set()));
    set.add(id);
    return true;
  }

  #insert(input: ProductInput): Product {
    const product = { id: this.#nextId++, ...input };
    this.#products.set(product.id, product);
    return product;
  }

  async #query(): Promise<void> {
    this.queries++;
    if (this.latencyMs > 0) await sleep(this.latencyMs);
  }
}

/** A request body as a product, or the reason it is not one. */
export function parseProductInput(body: unknown): ProductInput | { error: string } {
  if (typeof body !== 'object' || body === null) return { error: 'expected a JSON object' };
  const { name, category, price } = body as Record<string, unknown>;
  if (typeof name !== 'string' || name.trim() === '') return { error: 'name must be a string' };
  if (typeof category !== 'string' || category.trim() === '')
    return { error: 'category must be a string' };
  if (typeof price !== 'number' || !Number.isFinite(price) || price < 0)
    return { error: 'price must be a non-negative number' };
  return { name, category, price };
}

/** A positive integer from a path or query parameter, or `undefined`. */
export function positiveInt(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^[0-9]{1,9}$/.test(value)) return undefined;
  const n = Number(value);
  return n > 0 ? n : undefined;
}

/**
 * The tag of one product's cached responses. Built from the parsed id so `/api/products/01` and
 * `/api/products/1` share it and one invalidation drops both.
 */
export function productTag(id: unknown): string {
  return `product:${typeof id === 'number' ? id : (positiveInt(id) ?? 'invalid')}`;
}
