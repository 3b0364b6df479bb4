import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

// What users install: each package's dist/ loads with require() and with import, exposes the
// documented names, and ships type declarations for both. `pnpm test` builds before jest runs.

const root = path.resolve(__dirname, '../..');

const packages = [
  {
    name: 'core',
    exports: [
      'RedisCacheStore',
      'MemoryCacheStore',
      'HttpCache',
      'EntryTooLargeError',
      'StoreClosedError',
    ],
  },
  { name: 'express', exports: ['createCache'] },
  { name: 'koa', exports: ['createCache'] },
];

function run(args: string[]): string[] {
  return JSON.parse(
    execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' }),
  ) as string[];
}

describe.each(packages)('@restash/$name', ({ name, exports }) => {
  const dist = path.join(root, 'packages', name, 'dist');

  beforeAll(() => {
    if (!existsSync(path.join(dist, 'index.js')))
      throw new Error(`packages/${name}/dist is missing: run pnpm build first`);
  });

  test('loads with require()', () => {
    const names = run([
      '-e',
      `console.log(JSON.stringify(Object.keys(require(${JSON.stringify(path.join(dist, 'index.cjs'))}))))`,
    ]);
    expect(names).toEqual(expect.arrayContaining(exports));
  });

  test('loads with import', () => {
    const url = `file://${path.join(dist, 'index.js')}`;
    const names = run([
      '--input-type=module',
      '-e',
      `console.log(JSON.stringify(Object.keys(await import(${JSON.stringify(url)}))))`,
    ]);
    expect(names).toEqual(expect.arrayContaining(exports));
  });

  test('ships declarations for both', () => {
    expect(existsSync(path.join(dist, 'index.d.ts'))).toBe(true);
    expect(existsSync(path.join(dist, 'index.d.cts'))).toBe(true);
  });
});

// One ioredis, the app's: a copy of our own would be a second client library at runtime, and its
// classes would not type-check against the app's clients.
test('ioredis (5 or 6) is a peer dependency of every package, imported by dist/, never bundled', () => {
  for (const name of ['core', 'express', 'koa']) {
    const pkg = JSON.parse(
      readFileSync(path.join(root, 'packages', name, 'package.json'), 'utf8'),
    ) as Record<string, Record<string, string> | undefined>;
    expect(pkg.dependencies?.ioredis).toBeUndefined();
    expect(pkg.peerDependencies?.ioredis?.split(/\s*\|\|\s*/)).toEqual(['^5.0.0', '^6.0.0']);
  }
  const dist = (file: string): string =>
    readFileSync(path.join(root, 'packages/core/dist', file), 'utf8');
  expect(dist('index.js')).toMatch(/^import .* from "ioredis";$/m);
  expect(dist('index.cjs')).toMatch(/ = require\("ioredis"\);$/m);
  expect(dist('index.js')).not.toMatch(/class Redis\b|class Cluster\b/);
  expect(dist('index.d.ts')).toMatch(/^import .* from 'ioredis';$/m);
});

// The ESM and CommonJS builds each define the error classes; an app that imports restash while a
// library of its requires it must still recognise every error with one `instanceof` (the dual
// package hazard). The classes answer `instanceof` by their `code`; the adapters re-export core's.
// Every exported class with a static `code` is checked, so a new error class is covered too.
test('one error class identity across the ESM and CommonJS builds, and through the adapters', () => {
  const file = (name: string, ext: string): string =>
    JSON.stringify(path.join(root, 'packages', name, 'dist', `index.${ext}`));
  const { classes, wrong, twoClasses, codeOnly } = JSON.parse(
    execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { createRequire } from 'node:module';
        const require = createRequire(import.meta.url);
        const builds = {
          'core esm': await import('file://' + ${file('core', 'js')}),
          'core cjs': require(${file('core', 'cjs')}),
          'express esm': await import('file://' + ${file('express', 'js')}),
          'koa cjs': require(${file('koa', 'cjs')}),
        };
        const classes = Object.keys(builds['core cjs']).filter((name) => {
          const value = builds['core cjs'][name];
          return typeof value?.code === 'string' && value.prototype instanceof Error;
        });
        const wrong = [];
        for (const [from, a] of Object.entries(builds)) {
          for (const thrownBy of classes) {
            const error = Reflect.construct(a[thrownBy], ['x', 1]);
            if (!(error instanceof Error)) wrong.push([from, thrownBy, 'Error']);
            for (const [to, b] of Object.entries(builds)) {
              for (const name of classes) {
                if ((error instanceof b[name]) !== (name === thrownBy))
                  wrong.push([from, thrownBy, to, name]);
              }
            }
          }
        }
        // Two classes (the hazard is real), one identity:
        const twoClasses = builds['core esm'].StoreClosedError !== builds['core cjs'].StoreClosedError;
        const { code } = builds['core cjs'].StoreClosedError;
        const StoreClosedError = builds['core esm'].StoreClosedError;
        const codeOnly = [Object.assign(new Error(), { code }) instanceof StoreClosedError,
          { code } instanceof StoreClosedError];
        console.log(JSON.stringify({ classes, wrong, twoClasses, codeOnly }));`,
      ],
      { cwd: root, encoding: 'utf8' },
    ),
  ) as { classes: string[]; wrong: string[][]; twoClasses: boolean; codeOnly: boolean[] };
  expect(classes).toEqual(expect.arrayContaining(['EntryTooLargeError', 'StoreClosedError']));
  expect(twoClasses).toBe(true);
  expect(wrong).toEqual([]);
  // An Error carrying the code is one (that is what crosses builds); a plain object is not.
  expect(codeOnly).toEqual([true, false]);
});
