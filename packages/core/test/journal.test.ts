import { WriteJournal } from '../src/store/redis/journal';

// The write journal a store on Sentinel replays after a failover (see failover.ts).

test('since() lists what was written at or after a time, each name once, latest time kept', () => {
  const journal = new WriteJournal();
  journal.key('a', 10);
  journal.tags(['t', 'u'], 20);
  journal.key('b', 30);
  journal.key('a', 40);
  expect(journal.since(30)).toEqual({ keys: ['b', 'a'], tags: [], forgotten: false });
  expect(journal.since(0)).toEqual({ keys: ['b', 'a'], tags: ['t', 'u'], forgotten: false });
  expect(journal.since(41)).toEqual({ keys: [], tags: [], forgotten: false });
});

test('prune() forgets what is older, keeps what is not', () => {
  const journal = new WriteJournal();
  journal.key('a', 10);
  journal.key('b', 20);
  journal.tags(['t'], 15);
  journal.key('a', 30);
  journal.prune(20);
  expect(journal.size).toBe(2);
  expect(journal.since(0)).toEqual({ keys: ['b', 'a'], tags: [], forgotten: false });
});

test('past its bound it forgets the oldest and says so for the period concerned', () => {
  const journal = new WriteJournal();
  for (let i = 0; i <= 100_000; i++) journal.key(`k${i}`, i);
  expect(journal.size).toBe(100_000);
  expect(journal.since(0).forgotten).toBe(true);
  expect(journal.since(1).forgotten).toBe(false);
  expect(journal.since(1).keys).toHaveLength(100_000);
});
