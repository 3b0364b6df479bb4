// The root devDependencies install each framework major under an alias; they share the
// @types of the current major (the APIs the kits use are the same in both).
declare module 'express4' {
  import express from 'express';
  export = express;
}
declare module 'express5' {
  import express from 'express';
  export = express;
}
declare module 'koa2' {
  import Koa from 'koa';
  export = Koa;
}
declare module 'koa3' {
  import Koa from 'koa';
  export = Koa;
}

declare module '@koa/cors' {
  import type { Middleware } from 'koa';
  export default function cors(options?: Record<string, unknown>): Middleware;
}
