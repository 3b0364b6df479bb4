import { SlotMap } from '../src/store/redis/slot-map';

// Parsing CLUSTER SLOTS into the map that routes tracked reads (no Redis needed).

const reply = [
  [0, 5460, ['10.0.0.1', 7000, 'id-a', []], ['10.0.0.4', 7003, 'id-d', []]],
  [5461, 10922, ['', 7001, 'id-b', []]],
  [10923, 16383, ['?', 7002, 'id-c', []]],
];

test('each slot maps to its master; replicas are not masters', () => {
  const map = SlotMap.parse(reply, undefined, { host: '10.0.0.2', port: 7001 });
  expect(map.ownerOf(0)).toBe('10.0.0.1:7000');
  expect(map.ownerOf(5460)).toBe('10.0.0.1:7000');
  // An empty host means the node that was asked.
  expect(map.ownerOf(5461)).toBe('10.0.0.2:7001');
  // An unknown endpoint cannot be tracked: its slots have no owner, so reads bypass.
  expect(map.ownerOf(16383)).toBeUndefined();
  expect([...map.masters.keys()]).toEqual(['10.0.0.1:7000', '10.0.0.2:7001']);
  expect(map.unowned).toBe(16383 - 10923 + 1);
});

test('natMap applies as the Cluster client applies it (object or function)', () => {
  const object = SlotMap.parse(reply, { '10.0.0.1:7000': { host: 'public', port: 17000 } });
  expect(object.ownerOf(0)).toBe('public:17000');
  expect(object.masters.get('public:17000')).toEqual({ host: 'public', port: 17000 });
  const fn = SlotMap.parse(reply, (key) => ({ host: `nat-${key.split(':')[0]}`, port: 1 }));
  expect(fn.ownerOf(0)).toBe('nat-10.0.0.1:1');
});

test('maps are equal only when every slot has the same owner', () => {
  const a = SlotMap.parse(reply, undefined);
  expect(a.equals(SlotMap.parse([...reply].reverse(), undefined))).toBe(true);
  const moved = SlotMap.parse(
    [
      [0, 0, ['10.0.0.9', 7009, 'id-x', []]],
      [1, 5460, ['10.0.0.1', 7000, 'id-a', []]],
      ...reply.slice(1),
    ],
    undefined,
  );
  expect(a.equals(moved)).toBe(false);
  expect(SlotMap.empty().equals(SlotMap.empty())).toBe(true);
  expect(a.equals(SlotMap.empty())).toBe(false);
  expect(() => SlotMap.parse('nope', undefined)).toThrow(/CLUSTER SLOTS/);
});
