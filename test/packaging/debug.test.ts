import { spawnSync } from 'node:child_process';
import path from 'node:path';

// `DEBUG=restash:http` logs every decision; without it, nothing. A child process runs the built
// package, as a user's app would, since `debug` reads DEBUG when it loads.

const root = path.resolve(__dirname, '../..');

const app = `
import express from 'express5';
import { createCache } from './packages/express/dist/index.js';
const cache = createCache();
const app = express();
app.get('/products', cache.route({ tags: ['products'] }), (req, res) => res.json({ n: 1 }));
const server = app.listen(0, '127.0.0.1', async () => {
  const url = 'http://127.0.0.1:' + server.address().port + '/products';
  await (await fetch(url)).text();
  await new Promise((resolve) => setTimeout(resolve, 50));
  await (await fetch(url)).text();
  await cache.invalidate({ tags: ['products'] });
  server.close();
  await cache.close();
});
`;

function stderrOf(env: Record<string, string>): string {
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', app], {
    cwd: root,
    env: { ...process.env, DEBUG: '', DEBUG_COLORS: 'no', ...env },
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (run.status !== 0) throw new Error(`the app failed: ${run.stderr}`);
  return run.stderr;
}

test('DEBUG=restash:http logs lookups, stores and invalidations', () => {
  const lines = stderrOf({ DEBUG: 'restash:http' }).split('\n');
  expect(lines.find((l) => l.includes('fwd=uri-miss; stored'))).toMatch(/key=[0-9a-f]{16}/);
  expect(lines.find((l) => l.includes('restash; hit; ttl='))).toMatch(/\/products key=/);
  expect(lines.some((l) => / stored \(\d/.test(l))).toBe(true);
  expect(lines.some((l) => /invalidate \[ 'products' \]: 1 entries removed/.test(l))).toBe(true);
});

test('without DEBUG, restash logs nothing', () => {
  expect(stderrOf({})).toBe('');
});
