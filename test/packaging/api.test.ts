import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

// A user who installed only an adapter has the whole API: every name @restash/core exports for
// apps (values and types, as the published declarations say) is exported by each adapter too.
// Each package's README shows a snippet that `pnpm lint` type-checks, and names where it lives.

const root = path.resolve(__dirname, '../..');
const NAMES = ['core', 'express', 'koa'] as const;
const ADAPTERS = ['express', 'koa'] as const;

/** Core's exports for building an adapter (the engine, the Node response plumbing). */
const ADAPTER_KIT = [
  'CacheRequest',
  'CachedRoute',
  'Capture',
  'CapturedResponse',
  'Decision',
  'Finish',
  'FrameworkCache',
  'Hit',
  'HttpCache',
  'Invalidation',
  'MiddlewareFactory',
  'Pass',
  'ReplayResponse',
  'WrittenHead',
  'capture',
  'frameworkCache',
  'replayAtWrite',
  'writeReplay',
];

/** The names each package's dist/index.d.ts exports, as TypeScript reads them. */
function declaredExports(): Map<string, string[]> {
  const files = NAMES.map((name) => path.join(root, 'packages', name, 'dist', 'index.d.ts'));
  // Re-exports name their source module; listing names needs no resolution, so none is done.
  const program = ts.createProgram(files, { noResolve: true, noLib: true, types: [] });
  const checker = program.getTypeChecker();
  return new Map(
    NAMES.map((name, i) => {
      const module = checker.getSymbolAtLocation(program.getSourceFile(files[i]!)!)!;
      return [name, checker.getExportsOfModule(module).map((s) => s.name)];
    }),
  );
}

describe('the adapters re-export the app API of @restash/core', () => {
  const exports = declaredExports();
  const appApi = exports.get('core')!.filter((name) => !ADAPTER_KIT.includes(name));

  test('core exports what this test knows of (a new export is either app API or kit)', () => {
    expect(exports.get('core')).toEqual(expect.arrayContaining(ADAPTER_KIT));
    expect(appApi).toEqual(
      expect.arrayContaining([
        'EntryTooLargeError',
        'StoreClosedError',
        'RESILIENT_DEFAULTS',
        'IoredisClient',
        'Lookup',
      ]),
    );
  });

  test.each(ADAPTERS)('@restash/%s', (adapter) => {
    const missing = appApi.filter((name) => !exports.get(adapter)!.includes(name));
    expect(missing).toEqual([]);
  });
});

describe.each(NAMES)('@restash/%s package', (name) => {
  const dir = path.join(root, 'packages', name);
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Record<
    string,
    unknown
  >;

  test('README: its example is the snippet pnpm lint type-checks', () => {
    const readme = readFileSync(path.join(dir, 'README.md'), 'utf8');
    const [, file, code] =
      /<!-- snippet: (\S+) -->\s*```ts\n([\s\S]*?)```/.exec(readme) ?? ([] as string[]);
    expect(file).toBe(`test/packaging/snippets/${name}.ts`);
    expect(code).toBe(readFileSync(path.join(root, file!), 'utf8'));
    expect(readme).toContain('https://github.com/restash/restash#readme');
  });

  test('LICENSE is the root one', () => {
    expect(readFileSync(path.join(dir, 'LICENSE'), 'utf8')).toBe(
      readFileSync(path.join(root, 'LICENSE'), 'utf8'),
    );
  });

  test('metadata for the registry, and the engines the root declares', () => {
    const rootPkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      engines: unknown;
    };
    expect(pkg).toMatchObject({
      name: `@restash/${name}`,
      license: 'MIT',
      author: expect.any(String),
      repository: { type: 'git', directory: `packages/${name}` },
      homepage: expect.stringMatching(/^https:\/\//),
      bugs: { url: expect.stringMatching(/^https:\/\//) },
      keywords: expect.arrayContaining(['cache', 'redis']),
      engines: rootPkg.engines,
    });
  });
});
