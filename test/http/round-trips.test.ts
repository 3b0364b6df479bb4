import { ADAPTERS, forbidUnhandledRejections, get, storedCount, useEnvironment } from './kit';

// What a miss costs in Redis round trips, counted with MONITOR (commands a script ran are not
// round trips): one before the handler runs (the read, which also takes the lease) and one after
// (the store), however many tags the response carries.

const env = useEnvironment();
forbidUnhandledRejections();

describe.each(ADAPTERS)('%s', (_name, kit) => {
  test('a miss costs one round trip before the handler and one after', async () => {
    const admin = env.redis().admin();
    const app = await env.build(kit, {
      cache: { store: env.store('redis', { tracking: false }) },
      routes: [
        {
          path: '/items/:id',
          cache: { tags: (v) => ['items', `item:${v.param('id')}`], perUser: () => 'u1' },
          handler: async () => {
            await admin.echo('handler');
            return { json: { id: 1 } };
          },
        },
      ],
    });
    await get(app, '/items/0'); // loads the scripts
    await storedCount(app, 1);
    const log = await env.redis().monitor();
    await get(app, '/items/1');
    await storedCount(app, 2);
    const sent = (await log.commands()).map(([name, arg]) => (name === 'echo' ? arg! : name));
    await log.stop();
    const handler = sent.indexOf('handler');
    expect(sent.slice(0, handler)).toEqual(['evalsha']);
    expect(sent.slice(handler + 1)).toEqual(['evalsha']);
  });
});

// A conditional request whose validator matches is answered from the entry's metadata: the
// value (however large) never leaves Redis, not even into the get script.
describe.each(ADAPTERS)('%s', (_name, kit) => {
  test.each([
    ['2 KB', 2_000],
    ['64 KB', 64_000],
  ])('a matching If-None-Match never reads a %s value', async (_size, bytes) => {
    const app = await env.build(kit, {
      cache: { store: env.store('redis', { tracking: false }) },
      routes: [{ path: '/big', cache: {}, handler: () => ({ text: 'x'.repeat(bytes) }) }],
    });
    const first = await get(app, '/big');
    await storedCount(app, 1);
    const etag = first.headers.etag!;
    const log = await env.redis().monitor({ scripts: true });
    const unchanged = await get(app, '/big', { 'if-none-match': etag });
    const values = (await log.commands()).filter((args) => args.some((a) => a.includes('values:')));
    await log.stop();
    expect(unchanged.status).toBe(304);
    expect(unchanged.headers.etag).toBe(etag);
    expect(values).toEqual([]);
    // Validators that do not match still get the whole response.
    const changed = await get(app, '/big', { 'if-none-match': '"other"' });
    expect(changed.status).toBe(200);
    expect(changed.text).toBe('x'.repeat(bytes));
    expect(changed.headers['cache-status']).toMatch(/; hit/);
  });
});
