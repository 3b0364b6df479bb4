import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RouteOptions } from '@restash/core';
import { waitFor } from '../harness';
import {
  ADAPTERS,
  forbidUnhandledRejections,
  get,
  ProbeStore,
  useEnvironment,
  type AppSpec,
  type BuiltApp,
  type Reply,
  type View,
} from './kit';

// Concurrent misses for one key wait for one handler run (single-flight). Whatever way that run
// ends — a throw in any step, an error status, a stream, a body the framework cannot serialise, a
// client that goes away — the requests waiting for it must finish, and so must later ones.

const env = useEnvironment();
forbidUnhandledRejections();

const WAITERS = 3;

interface Case {
  /** Route options (functions may throw). */
  cache?: Partial<RouteOptions<View>>;
  upstream?: AppSpec['upstream'];
  /** What the leader's handler answers once every waiter arrived. */
  reply?: () => Reply;
  /** Store methods that throw. */
  storeThrows?: ('getOrLease' | 'setLeased')[];
  /** The leader's client goes away while its handler runs. */
  abort?: boolean;
}

const boom = (): never => {
  throw new Error('boom');
};

const CASES: [string, Case][] = [
  ['perUser throws', { cache: { perUser: boom } }],
  ['tags() throws', { cache: { tags: boom } }],
  ['the store read throws', { storeThrows: ['getOrLease'] }],
  ['the handler throws', { reply: () => ({ throws: true }) }],
  ['the handler answers 500', { reply: () => ({ status: 500, text: 'failed' }) }],
  ['the body cannot be serialised (BigInt)', { reply: () => ({ json: { n: 1n } }) }],
  ['the body streams', { reply: () => ({ stream: ['a', 'b'] }) }],
  ['the store write throws', { storeThrows: ['setLeased'] }],
  [
    'an upstream envelope fails on the body',
    { upstream: ['envelope'], reply: () => ({ json: { n: 2n } }) },
  ],
  ['the client goes away', { abort: true }],
];

describe.each(ADAPTERS)('%s', (_name, kit) => {
  test.each(CASES)('%s: the requests waiting for the leader finish', async (_what, c) => {
    let arrived = 0;
    let leaderStarted!: () => void;
    const started = new Promise<void>((resolve) => (leaderStarted = resolve));
    const probe = new ProbeStore(env.store('redis', { tracking: false }));
    probe.onCall = (method) => {
      if (c.storeThrows?.includes(method as 'getOrLease')) throw new Error(`${method} failed`);
    };
    let calls = 0;
    const app = await env.build(kit, {
      cache: { store: probe, onError: () => {} },
      upstream: c.upstream,
      routes: [
        {
          path: '/x',
          cache: { key: () => (arrived++, 'x'), ...c.cache } as RouteOptions<View>,
          handler: async () => {
            // Requests that bypass the cache (a route function threw) arrive here instead.
            if (calls > 0) arrived++;
            if (calls++ === 0) {
              const before = arrived;
              leaderStarted();
              await waitFor(() => arrived >= before + WAITERS, 3000, 'every waiter');
              if (c.abort) await new Promise((resolve) => setTimeout(resolve, 50));
            }
            return c.reply?.() ?? { json: { ok: true } };
          },
        },
      ],
    });
    const leader: Promise<unknown> = c.abort ? abandoned(app, '/x') : get(app, '/x');
    await started;
    const waiters = Array.from({ length: WAITERS }, () => get(app, '/x'));
    const answers = await withTimeout(Promise.all(waiters), 4000);
    for (const answer of answers) expect(answer.status).toBeGreaterThanOrEqual(200);
    await withTimeout(leader, 4000);
    // Nothing was left behind: the next request for the key is answered too.
    expect((await withTimeout(get(app, '/x'), 4000)).status).toBeGreaterThanOrEqual(200);
  });
});

/** A GET whose client disconnects once the server started on it. */
function abandoned(app: BuiltApp, path: string): Promise<void> {
  const { port } = app.server.address() as AddressInfo;
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path });
    req.on('error', () => resolve());
    setTimeout(() => {
      req.destroy();
      resolve();
    }, 20);
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
