import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

// What npm would publish: each package packed as `pnpm pack` packs it for `pnpm publish`
// (workspace: ranges replaced), its tarball listed, then linted by publint and by "Are the Types
// Wrong?" (attw), which resolves the types as node10, node16 (from CJS and from ESM) and bundlers
// would. Needs dist/: `pnpm test` builds before jest runs.

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');
const NAMES = ['core', 'express', 'koa'] as const;
/** What each tarball holds besides dist/: npm adds README and LICENSE; `files` adds the rest. */
const TOP_LEVEL = ['CHANGELOG.md', 'LICENSE', 'README.md', 'package.json'];
const DIST = ['index.cjs', 'index.d.cts', 'index.d.ts', 'index.js'];

let dir: string;
const tarballs = new Map<string, string>();
/** publint's and attw's output per package, started together once packed: ~2 s instead of ~7. */
const lints = new Map<string, Promise<{ publint: Output; attw: Output }>>();

interface Output {
  stdout: string;
  stderr: string;
  failed: boolean;
}

/** Runs a root devDependency's CLI with this Node (not its shebang's); never rejects. */
async function cli(pkg: string, name: string, args: string[]): Promise<Output> {
  const dir = path.join(root, 'node_modules', pkg);
  const manifest = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as {
    bin: Record<string, string>;
  };
  return run(process.execPath, [path.join(dir, manifest.bin[name]!), ...args]).then(
    ({ stdout, stderr }) => ({ stdout, stderr, failed: false }),
    (err: { stdout?: string; stderr?: string }) => ({
      stdout: err.stdout ?? '',
      stderr: err.stderr ?? String(err),
      failed: true,
    }),
  );
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'restash-pack-'));
  await Promise.all(
    NAMES.map(async (name) => {
      const { stdout } = await run('pnpm', ['pack', '--json', '--pack-destination', dir], {
        cwd: path.join(root, 'packages', name),
      });
      const tarball = (JSON.parse(stdout) as { filename: string }).filename;
      tarballs.set(name, tarball);
      lints.set(
        name,
        Promise.all([
          cli('publint', 'publint', ['run', tarball, '--strict', '--level', 'suggestion']),
          cli('@arethetypeswrong/cli', 'attw', [tarball, '--format', 'json']),
        ]).then(([publint, attw]) => ({ publint, attw })),
      );
    }),
  );
}, 30_000);

afterAll(async () => {
  await Promise.all(lints.values());
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.each(NAMES)('@restash/%s', (name) => {
  test('the tarball holds LICENSE, README, CHANGELOG, package.json, dist and types, nothing else', async () => {
    const { stdout } = await run('tar', ['-tzf', tarballs.get(name)!]);
    const files = stdout
      .split('\n')
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ''));
    expect(files).toEqual(expect.arrayContaining([...TOP_LEVEL, ...DIST.map((f) => `dist/${f}`)]));
    expect(files.filter((f) => !TOP_LEVEL.includes(f) && !f.startsWith('dist/'))).toEqual([]);
  });

  test('the packed package.json names its versions, not workspace: ranges', async () => {
    const { stdout } = await run('tar', ['-xzOf', tarballs.get(name)!, 'package/package.json']);
    expect(stdout).not.toMatch(/workspace:/);
  });

  test('publint: all good, suggestions included', async () => {
    const { publint } = await lints.get(name)!;
    expect(publint).toEqual(expect.objectContaining({ failed: false }));
    expect(publint.stdout).toContain('All good!');
  });

  test('attw: the types resolve for node10, node16 (CJS and ESM) and bundlers', async () => {
    const { attw } = await lints.get(name)!;
    const { analysis } = JSON.parse(attw.stdout || '{}') as {
      analysis?: { types: unknown; problems: unknown[] };
    };
    expect(analysis?.types).toBeTruthy();
    expect(analysis?.problems).toEqual([]);
    expect(attw.failed).toBe(false);
  });
});
