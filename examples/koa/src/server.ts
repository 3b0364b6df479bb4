import { serve } from '@restash/example-shared';
import { createApp } from './app.js';

// `pnpm example:koa` from the repository root: the catalogue on PORT (default 3000).
serve({ framework: 'Koa', command: 'pnpm example:koa' }, (options) => {
  const { app, close } = createApp(options);
  return { listener: app.callback(), close };
});
