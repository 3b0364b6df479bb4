// The pieces of an app the README's Express snippet leans on, typed as an app would have them.
import type { Request, RequestHandler } from 'express';

export interface Product {
  id: string;
  name: string;
}

export const db = {
  products: {
    update: async (id: string, fields: unknown): Promise<Product> => ({ id, name: String(fields) }),
    find: async (id: string): Promise<Product | null> => ({ id, name: 'lamp' }),
    list: async (page: number): Promise<Product[]> => [{ id: String(page), name: 'lamp' }],
  },
};
export const logger = { warn: (...args: unknown[]): void => void args };

/** A request after `authenticate`: it knows its user. */
export type AuthedRequest = Request & { user?: { id: string } };

const placeholder: RequestHandler = (_req, res) => void res.json({});
export const listProducts: RequestHandler = placeholder;
export const getProduct: RequestHandler = placeholder;
export const getMe: RequestHandler = placeholder;
export const createProduct: RequestHandler = placeholder;
export const authenticate: RequestHandler = placeholder;
