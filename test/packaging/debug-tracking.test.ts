import { spawn } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRedis, waitFor, type RedisHandle } from '../harness';

// `DEBUG=restash:tracking` says when tracking becomes ready and when it resets; without DEBUG,
// nothing. As in debug.test.ts, a child process runs the built package (`debug` reads DEBUG when
// it loads), here against a throwaway Redis whose tracking connections the test kills.

const root = path.resolve(__dirname, '../..');

// Closes the store when the test ends its stdin.
const app = `
import { RedisCacheStore } from './packages/core/dist/index.js';
const store = new RedisCacheStore({
  clientOpts: { host: '127.0.0.1', port: Number(process.env.REDIS_PORT) },
});
process.stdin.resume();
process.stdin.on('end', () => void store.close());
`;

let redis: RedisHandle;

beforeAll(async () => {
  redis = await startRedis({ owned: true });
});

afterAll(async () => {
  await redis?.stop();
});

/** The id of the store's connection named `name` (ioredis connectionName). */
async function clientId(name: string): Promise<string | undefined> {
  const list = String(await redis.admin().client('LIST'));
  const line = list.split('\n').find((l) => l.includes(` name=${name} `));
  return line && /^id=(\d+)/.exec(line)?.[1];
}

/**
 * Runs the app with `debug` and, once it tracks (`tracked` says so), kills its invalidation
 * subscriber and waits until `recovered`; then lets the app close. Resolves with its stderr.
 */
async function run(
  debug: string,
  tracked: (stderr: string) => Promise<boolean> | boolean,
  recovered: (stderr: string) => Promise<boolean> | boolean,
): Promise<string> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', app], {
    cwd: root,
    env: { ...process.env, DEBUG: debug, DEBUG_COLORS: 'no', REDIS_PORT: String(redis.port) },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    await waitFor(() => tracked(stderr), 5000, 'tracking ready');
    const id = await clientId('restash:invalidations');
    if (id === undefined) throw new Error('no restash:invalidations connection');
    await redis.admin().client('KILL', 'ID', id);
    await waitFor(() => recovered(stderr), 5000, 'tracking back');
  } finally {
    child.stdin.end();
  }
  const code = await exited;
  if (code !== 0) throw new Error(`the app failed (${code}): ${stderr}`);
  return stderr;
}

test('DEBUG=restash:tracking logs when tracking becomes ready and when it resets', async () => {
  const ready = /restash:tracking 127\.0\.0\.1:\d+: tracking ready: reads redirect to client \d+/;
  const readies = (log: string): number => log.split('\n').filter((l) => ready.test(l)).length;
  const stderr = await run(
    'restash:tracking',
    (log) => readies(log) >= 1,
    (log) => readies(log) >= 2,
  );
  const lines = stderr.split('\n');
  const at = (pattern: RegExp): number => lines.findIndex((l) => pattern.test(l));
  const established = at(/: tracking established: invalidations to client \d+, tag versions/);
  const first = at(/: tracking ready: /);
  const reset = at(/: invalidations connection dropped \(tracking reset\)/);
  const flushed = at(/restash:tracking local tier flushed \(0 entries\)/);
  expect([established, first, reset, flushed].every((i) => i >= 0)).toBe(true);
  expect(established).toBeLessThan(first);
  expect(first).toBeLessThan(reset);
  expect(reset).toBeLessThan(flushed);
  expect(lines.filter((l) => l.includes(': tracking ready: '))).toHaveLength(2);
  expect(lines.some((l) => l.includes(': tracking closed'))).toBe(true);
  // Only the namespace asked for.
  expect(lines.filter((l) => l !== '' && !l.includes(' restash:tracking '))).toEqual([]);
});

test('without DEBUG, tracking logs nothing', async () => {
  // No log to watch: the connections' CLIENT LIST flags say when tracking is on (`t`).
  const tracking = async (): Promise<boolean> => {
    const list = String(await redis.admin().client('LIST'));
    return /name=restash:reader .*flags=\w*t/.test(list);
  };
  let before: string | undefined;
  const stderr = await run(
    '',
    async () => {
      if (!(await tracking())) return false;
      before = await clientId('restash:invalidations');
      // The reply to CLIENT TRACKING reaches the app a moment after the server sets the flag.
      await sleep(100);
      return true;
    },
    async () => {
      const now = await clientId('restash:invalidations');
      return now !== undefined && now !== before && (await tracking());
    },
  );
  expect(stderr).toBe('');
});
