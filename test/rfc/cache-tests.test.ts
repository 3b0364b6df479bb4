import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { EXPECTED_FAILURES } from './expected-failures';

// The public HTTP cache test suite (http-tests/cache-tests, as cache-tests.fyi runs it on
// browsers, CDNs and proxies) against restash on Express 5, in the default mode (freshness from
// the route's ttl) and in the header-driven mode (`freshness: 'headers'`). Each run is a child
// process (the suite is ES modules with module-level state); it needs the built packages.

type Outcome = { kind: string; outcome: string; detail: unknown };

const script = path.join(__dirname, 'run-cache-tests.mjs');

async function run(mode: 'default' | 'headers'): Promise<Record<string, Outcome>> {
  const { stdout } = await promisify(execFile)(process.execPath, [script, mode], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout) as Record<string, Outcome>;
}

const FAILED = ['fail', 'setup-fail', 'harness-fail'];

// Both runs at once: they mostly wait (the suite pauses for responses to go stale).
let runs: Record<'default' | 'headers', Record<string, Outcome>>;
beforeAll(async () => {
  const [byRoute, byHeaders] = await Promise.all([run('default'), run('headers')]);
  runs = { default: byRoute, headers: byHeaders };
}, 60_000);

describe.each(['default', 'headers'] as const)('%s mode', (mode) => {
  let outcomes: Record<string, Outcome>;
  beforeAll(() => {
    outcomes = runs[mode];
  });

  test('every required test passes, but those failed on purpose', () => {
    const failed = Object.entries(outcomes)
      .filter(([, { kind, outcome }]) => kind === 'required' && FAILED.includes(outcome))
      .map(([id]) => id);
    const expected = Object.keys(EXPECTED_FAILURES[mode]);
    expect(failed.filter((id) => !expected.includes(id))).toEqual([]); // new failures
    expect(expected.filter((id) => !failed.includes(id))).toEqual([]); // fixed: update the list
  });

  if (mode === 'headers') {
    test('at least 140 required tests pass', () => {
      const passed = Object.values(outcomes).filter(
        ({ kind, outcome }) => kind === 'required' && outcome === 'pass',
      );
      expect(passed.length).toBeGreaterThanOrEqual(140);
    });
  }
});
