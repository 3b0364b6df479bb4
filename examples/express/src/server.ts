import { serve } from '@restash/example-shared';
import { createApp } from './app.js';

// `pnpm example` from the repository root: the catalogue on PORT (default 3000).
serve({ framework: 'Express', command: 'pnpm example' }, (options) => {
  const { app, close } = createApp(options);
  return { listener: app, close };
});
