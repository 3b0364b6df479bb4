import sequencer from '@jest/test-sequencer';

// Files that mostly wait (the HTTP cache test suite's pauses, failovers, the soak, sleeps past a
// ttl) start first, so they overlap the rest of the run instead of ending it. Jest orders by the
// durations it cached on earlier runs; a fresh clone (CI) has none and would start them anywhere.
const SLOW = [
  'test/rfc/cache-tests',
  'test/http/stale',
  'test/cluster/cluster-failover',
  'test/http/rfc',
  'test/http/soak',
  'test/data/wrap',
  'test/data/stampede',
  'test/http/serving',
  'test/sentinel/',
  'test/http/faults',
  'packages/core/test/breaker',
  'packages/core/test/store-contract',
  'test/packaging/pack',
  'packages/core/test/redis-store',
];

const Sequencer = sequencer.default ?? sequencer;

export default class SlowFirst extends Sequencer {
  async sort(tests) {
    const rank = (test) => {
      const i = SLOW.findIndex((path) => test.path.includes(path));
      return i === -1 ? SLOW.length : i;
    };
    // Array.prototype.sort is stable: the rest keeps jest's own order.
    return [...(await super.sort(tests))].sort((a, b) => rank(a) - rank(b));
  }
}
