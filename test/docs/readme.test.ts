import { readFileSync } from 'node:fs';
import path from 'node:path';

// The README's code is compiled: each block after a `<!-- snippet: docs/snippets/x.ts -->` marker
// must be that file, which `pnpm lint` type-checks (tsconfig.json includes docs/snippets).

const root = path.resolve(__dirname, '../..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/<!-- snippet: (\S+) -->\s*```ts\n([\s\S]*?)```/g)];

test('the README shows its snippets', () => {
  expect(blocks.map(([, file]) => file).sort()).toEqual(
    [
      'docs/snippets/cluster.ts',
      'docs/snippets/express.ts',
      'docs/snippets/koa.ts',
      'docs/snippets/quick-start.ts',
      'docs/snippets/sentinel.ts',
      'docs/snippets/stores.ts',
      'docs/snippets/wrap.ts',
    ].sort(),
  );
});

test.each(blocks.map(([, file, code]) => [file!, code!]))(
  '%s is in the README as it is',
  (file, code) => {
    expect(code).toBe(readFileSync(path.join(root, file), 'utf8'));
  },
);
