import {
  ADAPTERS,
  call,
  forbidUnhandledRejections,
  get,
  storedCount,
  useEnvironment,
  type BuiltApp,
  type Reply,
  type View,
} from './kit';

// What must never be stored or served to the wrong client: unsafe responses, authorized
// requests, other users' entries, poisoned requests, colliding keys, and clients trying to force
// an origin load. Redis-backed, with the store's defaults (tracking on).

const env = useEnvironment();
forbidUnhandledRejections();

/** Requests `path` twice and returns both X-Cache values and the handler calls it took. */
async function twice(
  app: BuiltApp,
  path: string,
  calls: () => number,
  headers: Record<string, string> = {},
): Promise<{ xCache: string[]; calls: number }> {
  const before = calls();
  const first = await get(app, path, headers);
  await new Promise((resolve) => setTimeout(resolve, 20)); // let a (wrong) store land
  const second = await get(app, path, headers);
  return {
    xCache: [first.headers['x-cache']!, second.headers['x-cache']!],
    calls: calls() - before,
  };
}

describe.each(ADAPTERS)('%s', (_name, kit) => {
  const store = () => env.store('redis');

  test.each<[string, Reply]>([
    ['Set-Cookie', { headers: { 'Set-Cookie': 'sid=1' }, text: 'cookie' }],
    ['Cache-Control: no-store', { headers: { 'Cache-Control': 'no-store' }, text: 'x' }],
    ['Cache-Control: private', { headers: { 'Cache-Control': 'private, max-age=60' }, text: 'x' }],
    ['Vary: *', { headers: { Vary: '*' }, text: 'x' }],
    ['a status outside `statuses`', { status: 500, text: 'x' }],
    ['a 201', { status: 201, text: 'x' }],
  ])('a response with %s is not stored', async (_what, reply) => {
    let calls = 0;
    const app = await env.build(kit, {
      cache: { store: store() },
      routes: [{ path: '/r', cache: {}, handler: () => (calls++, reply) }],
    });
    expect(await twice(app, '/r', () => calls)).toEqual({ xCache: ['MISS', 'MISS'], calls: 2 });
    expect(app.cache.stats().stores).toBe(0);
  });

  test('Cache-Control: private is stored on a per-user route, for that user only', async () => {
    let calls = 0;
    const app = await env.build(kit, {
      cache: { store: store() },
      routes: [
        {
          path: '/mine',
          cache: { perUser: (v) => v.header('x-user') },
          handler: (v) => (
            calls++,
            { headers: { 'Cache-Control': 'private' }, text: `${v.header('x-user')}` }
          ),
        },
      ],
    });
    await get(app, '/mine', { 'X-User': 'ann' });
    await storedCount(app, 1);
    const hit = await get(app, '/mine', { 'X-User': 'ann' });
    expect(hit.headers['x-cache']).toBe('HIT');
    const other = await get(app, '/mine', { 'X-User': 'ben' });
    expect(other.headers['x-cache']).toBe('MISS');
    expect(other.text).toBe('ben');
    expect(calls).toBe(2);
  });

  test('bodies over the store maxEntrySize are not stored, and are no error', async () => {
    let calls = 0;
    const errors: unknown[] = [];
    const app = await env.build(kit, {
      cache: {
        store: env.store('redis', { maxEntrySize: 2000 }),
        onError: (e) => errors.push(e),
      },
      routes: [
        { path: '/big', cache: {}, handler: () => (calls++, { text: 'x'.repeat(5000) }) },
        { path: '/small', cache: {}, handler: () => (calls++, { text: 'x'.repeat(100) }) },
      ],
    });
    const big = await twice(app, '/big', () => calls);
    expect(big).toEqual({ xCache: ['MISS', 'MISS'], calls: 2 });
    expect((await twice(app, '/small', () => calls)).xCache).toEqual(['MISS', 'HIT']);
    expect(errors).toEqual([]);
  });

  test('Authorization bypasses a route without perUser, unless it is shared', async () => {
    let calls = 0;
    const app = await env.build(kit, {
      cache: { store: store() },
      routes: [
        { path: '/open', cache: {}, handler: () => (calls++, { text: 'open' }) },
        { path: '/shared', cache: { shared: true }, handler: () => (calls++, { text: 'shared' }) },
        {
          path: '/per-user',
          cache: { perUser: (v) => v.header('x-user') },
          handler: () => (calls++, { text: 'per-user' }),
        },
      ],
    });
    const auth = { Authorization: 'Bearer secret' };
    expect(await twice(app, '/open', () => calls, auth)).toEqual({
      xCache: ['BYPASS', 'BYPASS'],
      calls: 2,
    });
    // An authorized request that perUser cannot attribute to a user bypasses too.
    expect((await twice(app, '/per-user', () => calls, auth)).xCache).toEqual(['BYPASS', 'BYPASS']);
    expect((await twice(app, '/shared', () => calls, auth)).xCache).toEqual(['MISS', 'HIT']);
    // An anonymous request never sees what an authorized one caused, and vice versa.
    expect((await get(app, '/open')).headers['x-cache']).toBe('MISS');
  });

  test('per-user entries never cross users (50 concurrent requests, then 50 hits)', async () => {
    const app = await env.build(kit, {
      cache: { store: store() },
      routes: [
        {
          path: '/me',
          cache: { perUser: (v) => v.header('x-user') },
          handler: async (v) => {
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
            return { headers: { 'Cache-Control': 'private' }, json: { user: v.header('x-user') } };
          },
        },
      ],
    });
    const users = ['alice', 'a","b'];
    for (let round = 0; round < 2; round++) {
      const answers = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const user = users[i % 2]!;
          return { user, answer: await get(app, '/me', { 'X-User': user }) };
        }),
      );
      for (const { user, answer } of answers) expect(JSON.parse(answer.text)).toEqual({ user });
      if (round === 0) await storedCount(app, 2);
      else expect(answers.every(({ answer }) => answer.headers['x-cache'] === 'HIT')).toBe(true);
    }
  });

  test.each([
    ['X-Forwarded-Host', 'evil.example'],
    ['X-Original-URL', '/admin'],
    ['X-Rewrite-URL', '/admin'],
    ['X-HTTP-Method-Override', 'DELETE'],
    ['X-Method-Override', 'DELETE'],
    ['X-Forwarded-Proto', 'gopher'],
  ])(
    'a request poisoned with %s cannot change what a clean request gets',
    async (header, value) => {
      // The handler honours the header, as some stacks do (trust proxy, URL rewriting, override).
      const app = await env.build(kit, {
        cache: { store: store() },
        routes: [
          {
            path: '/page',
            cache: {},
            handler: (v) => ({ text: `seen ${v.header(header) ?? 'clean'}` }),
          },
        ],
      });
      const poisoned = await get(app, '/page', { [header]: value });
      expect(poisoned.text).toBe(`seen ${value}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const clean = await get(app, '/page');
      expect(clean.text).toBe('seen clean');
      await storedCount(app, 1);
      // And the clean entry is not what a poisoned request gets either.
      expect((await get(app, '/page', { [header]: value })).text).toBe(`seen ${value}`);
      expect((await get(app, '/page')).text).toBe('seen clean');
    },
  );

  test('crafted paths, queries, hosts and user ids cannot make two requests share a key', async () => {
    // What a handler may answer from: the route parameter, the query, the host, the user.
    const identity = (v: View) =>
      `${v.param('id')}|${v.url.split('?')[1]}|${v.header('host')}|${v.header('x-user') ?? '-'}`;
    const app = await env.build(kit, {
      cache: { store: store() },
      routes: [
        {
          path: '/k/:id',
          cache: { perUser: (v) => v.header('x-user') },
          handler: (v) => ({ text: identity(v) }),
        },
        {
          path: '/c/:id',
          cache: { key: (v) => `c:${v.param('id')}`, perUser: (v) => v.header('x-user') },
          handler: (v) => ({ text: `${v.param('id')}|${v.header('x-user') ?? '-'}` }),
        },
      ],
    });
    const host = { Host: 'site.example' };
    const cases: [string, Record<string, string>][] = [
      ['/k/A', {}],
      ['/k/a', {}],
      ['/k/x?a=1&b=2', {}],
      ['/k/x?a=1%26b=2', {}],
      ['/k/x?a=1&a=2', {}],
      ['/k/x?a=2&a=1', {}],
      ['/k/x?a=1', {}],
      ['/k/x?a=1', host],
      ['/k/x?a=1', { 'X-User': 'a' }],
      ['/k/x?a=1', { 'X-User': 'a","b' }],
      ['/k/x?a=1', { 'X-User': 'a\\' }],
      ['/k/x?a=1', { 'X-User': 'null' }],
      ['/k/x?a=1', { 'X-User': 'a:b' }],
      ['/k/x?a=1:a', { 'X-User': 'b' }],
      ['/c/a:b', {}],
      ['/c/a', { 'X-User': 'b' }],
      ['/c/a%22%2C%22b', {}],
      ['/c/a', { 'X-User': 'a","b' }],
      ['/c/a%2C%22b', { 'X-User': 'a"' }],
    ];
    const expected: string[] = [];
    for (const [path, headers] of cases) expected.push((await get(app, path, headers)).text);
    expect(new Set(expected).size).toBe(cases.length); // every request is its own resource
    await storedCount(app, cases.length);
    for (const [i, [path, headers]] of cases.entries()) {
      const again = await get(app, path, headers);
      expect(again.headers['x-cache']).toBe('HIT');
      expect(again.text).toBe(expected[i]);
    }
    // The query's parameter order does not matter (values of one name keep theirs).
    const reordered = await get(app, '/k/x?b=2&a=1');
    expect(reordered.headers['x-cache']).toBe('HIT');
    expect(reordered.text).toBe(expected[2]);
  });

  test('request no-cache, max-age=0 and Pragma cannot force an origin load; no-store bypasses', async () => {
    let calls = 0;
    const app = await env.build(kit, {
      cache: { store: store() },
      routes: [{ path: '/p', cache: {}, handler: () => ({ text: `n${++calls}` }) }],
    });
    await get(app, '/p');
    await storedCount(app, 1);
    for (const headers of <Record<string, string>[]>[
      { 'Cache-Control': 'no-cache' },
      { 'Cache-Control': 'max-age=0' },
      { 'Cache-Control': 'no-cache, max-age=0, must-revalidate' },
      { Pragma: 'no-cache' },
    ]) {
      const answer = await get(app, '/p', headers);
      expect(answer.headers['x-cache']).toBe('HIT');
      expect(answer.text).toBe('n1');
    }
    expect(calls).toBe(1);
    const noStore = await get(app, '/p', { 'Cache-Control': 'no-store' });
    expect(noStore.headers['x-cache']).toBe('BYPASS');
    expect(noStore.text).toBe('n2');
    // A bypass neither stores nor evicts.
    expect((await get(app, '/p')).text).toBe('n1');
  });

  test('only GET and HEAD use the cache; a body or a method override bypasses', async () => {
    let calls = 0;
    const app = await env.build(kit, {
      cache: { store: store() },
      routes: [
        { path: '/m', cache: {}, handler: () => ({ text: `get ${++calls}` }) },
        { path: '/m', method: 'post', cache: {}, handler: () => ({ text: `post ${++calls}` }) },
      ],
    });
    await get(app, '/m');
    await storedCount(app, 1);
    const post = await call(app, 'post', '/m');
    expect(post.headers['x-cache']).toBe('BYPASS');
    expect(post.text).toBe('post 2');
    const withBody = await call(app, 'get', '/m', { 'Content-Type': 'text/plain' }, 'hi');
    expect(withBody.headers['x-cache']).toBe('BYPASS');
    const overridden = await get(app, '/m', { 'X-HTTP-Method-Override': 'PUT' });
    expect(overridden.headers['x-cache']).toBe('BYPASS');
    expect((await get(app, '/m')).text).toBe('get 1');
  });
});
