// The pieces of an app the README's Koa snippet leans on, typed as an app would have them.
import type { Middleware } from 'koa';

export const db = {
  products: {
    list: async (): Promise<{ id: string }[]> => [],
    update: async (id: unknown, fields: unknown): Promise<{ id: string }> => ({
      id: `${String(id)}${String(fields)}`,
    }),
  },
};

const placeholder: Middleware = async (ctx) => {
  ctx.body = {};
};
export const getProduct: Middleware = placeholder;
export const getMe: Middleware = placeholder;
export const createProduct: Middleware = placeholder;
export const authenticate: Middleware = placeholder;

// What a body parser (@koa/bodyparser, koa-body) declares for `ctx.request.body`.
declare module 'koa' {
  interface Request {
    body?: unknown;
  }
}
