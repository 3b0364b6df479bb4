import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidationRetry, isTransient } from '../src/http/retry';
import { waitFor } from '../../../test/harness';

// The HTTP cache's safety net for invalidations that failed: retried only when retrying can
// help, each on its own, for a bounded time, and holding back only the tags they name.

function replyError(message: string): Error {
  const err = new Error(message);
  err.name = 'ReplyError'; // as ioredis names Redis error replies
  return err;
}

describe('isTransient', () => {
  test.each([
    [new Error('Connection is closed.'), true],
    [new Error('Command timed out'), true],
    [replyError('LOADING Redis is loading the dataset in memory'), true],
    [replyError('OOM command not allowed'), true],
    [replyError('READONLY You cannot write against a read only replica.'), true],
    [replyError('ERR user_script:35: Expected value but found invalid unicode escape'), false],
    [replyError('WRONGTYPE Operation against a key holding the wrong kind of value'), false],
    [new TypeError('tags must be an array of strings'), false],
    [Object.assign(new Error('closed'), { code: 'ERR_RESTASH_STORE_CLOSED' }), false],
  ])('%p → %p', (err, transient) => {
    expect(isTransient(err)).toBe(transient);
  });
});

describe('InvalidationRetry', () => {
  const reports: unknown[] = [];
  const retries: InvalidationRetry[] = [];
  const make = (run: (tags: readonly string[]) => Promise<unknown>, giveUpMs?: number) => {
    const retry = new InvalidationRetry(run, (err) => reports.push(err), giveUpMs);
    retries.push(retry);
    return retry;
  };
  beforeEach(() => void (reports.length = 0));
  afterEach(() => retries.splice(0).forEach((retry) => retry.close()));

  test('an invalidation that cannot succeed is reported and never retried', async () => {
    let runs = 0;
    const retry = make(async () => runs++);
    retry.add(['a'], replyError('ERR user_script: bad'));
    await sleep(300);
    expect(runs).toBe(0);
    expect(retry.pending).toBe(false);
    expect(String(reports[0])).toMatch(/"a" is not retried: it cannot succeed/);
  });

  test('a transient failure is retried until it lands, holding back only its own tags', async () => {
    let fail = true;
    const retry = make(async () => {
      if (fail) throw new Error('Connection is closed.');
    });
    retry.add(['a', 'user:1'], new Error('Connection is closed.'));
    expect(retry.affects(['b', 'user:1'])).toBe(true);
    expect(retry.affects(['b', 'key:/x'])).toBe(false);
    await sleep(250);
    expect(retry.pending).toBe(true);
    fail = false;
    await waitFor(() => !retry.pending, 3000, 'retry landed');
    expect(retry.affects(['a'])).toBe(false);
  });

  test('each failed invalidation is retried on its own: a hopeless one does not hold up others', async () => {
    const retry = make(async (tags) => {
      if (tags.includes('bad')) throw replyError('ERR no such thing');
    });
    retry.add(['bad'], new Error('Command timed out'));
    retry.add(['good'], new Error('Command timed out'));
    await waitFor(() => !retry.pending, 3000, 'both settled');
    expect(reports.map(String).join('\n')).toMatch(/"bad" is not retried: it cannot succeed/);
  });

  test('a failure that outlasts the bound is given up and reported', async () => {
    const retry = make(async () => {
      throw new Error('Connection is closed.');
    }, 200);
    retry.add(['a'], new Error('Connection is closed.'));
    await waitFor(() => !retry.pending, 3000, 'given up');
    expect(retry.affects(['a'])).toBe(false);
    expect(reports.map(String).join('\n')).toMatch(
      /"a" is not retried: it kept failing for 200 ms/,
    );
  });
});
