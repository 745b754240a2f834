import t from 'tap';
import { ManagedLevelsIndex } from '../../../../src/gateway/checks/managed-levels-index.js';
import { loadFixturePolicy, rowSnapshot } from '../../../fixtures/checks/fixture-files.js';
import type { PolicySnapshot, SnapshotUser } from '../../../../src/policy/snapshot.js';
import { PackedUserMap } from '../../../../src/policy/packed-users.js';
import { decodeSnapshot, encodeSnapshot } from '../../../../src/policy/transport.js';

const snapshot = rowSnapshot(loadFixturePolicy(), {});

/** Counts the user objects `packed` builds from now on (by position or by iterating them all). */
function countMaterialised(packed: PackedUserMap): () => number {
  let materialised = 0;
  const userAt = packed.userAt.bind(packed);
  packed.userAt = (index: number): SnapshotUser => {
    materialised++;
    return userAt(index);
  };
  const values = packed.values.bind(packed);
  packed.values = () => {
    materialised++;
    return values();
  };
  return () => materialised;
}

// The gateway threads enforce the decoded (packed) form, read without materialising users.
for (const [form, tested] of [['compiled', snapshot], ['decoded', decodeSnapshot(encodeSnapshot(snapshot))]] as const) {
  t.test(`levels the reconciler enforces, per managed room (${form} snapshot)`, (t) => {
    const index = new ManagedLevelsIndex(tested);
    t.same([...index.levelsIn('!managed:hs')].sort(), [['@alice:hs', 50], ['@pat:hs', 0]], 'inactive and schema-1 users are left out');
    t.same([...index.levelsIn('!open:hs')], []);
    t.same([...index.levelsIn('!unmanaged:hs')], [], 'listed but not managed');
    t.same([...index.levelsIn('!free:hs')], []);
    t.end();
  });
}

t.test('a packed snapshot is scanned without building a user object', (t) => {
  const decoded = decodeSnapshot(encodeSnapshot(snapshot));
  t.ok(decoded.users instanceof PackedUserMap);
  const materialised = countMaterialised(decoded.users as PackedUserMap);
  t.same([...new ManagedLevelsIndex(decoded).levelsIn('!managed:hs')].sort(), [['@alice:hs', 50], ['@pat:hs', 0]]);
  t.equal(materialised(), 0);
  t.end();
});

t.test('each room is computed once per index', (t) => {
  let scans = 0;
  const users = snapshot.users;
  const counting: PolicySnapshot = {
    ...snapshot,
    users: {
      get: (id: string) => users.get(id),
      has: (id: string) => users.has(id),
      values: () => {
        scans++;
        return users.values();
      },
    } as unknown as ReadonlyMap<string, SnapshotUser>,
  };
  const index = new ManagedLevelsIndex(counting);
  index.levelsIn('!managed:hs');
  index.levelsIn('!managed:hs');
  index.levelsIn('!free:hs');
  t.equal(scans, 1, 'unmanaged rooms need no scan; a managed room one');
  index.levelsIn('!open:hs');
  t.equal(scans, 2);
  t.end();
});

// Red team 22, F3: the power-levels check compares a users_default raise against every guarded
// policy user without an entry; counting them must not build the policy's 100,000 user objects.
for (const [form, tested] of [['compiled', snapshot], ['decoded', decodeSnapshot(encodeSnapshot(snapshot))]] as const) {
  t.test(`raise-guarded users: inactive, and active with managed levels, whatever their rooms (${form} snapshot)`, (t) => {
    // alice, pat, carol (active, schema 2) and ina (inactive); leg (active, schema 1) is not guarded.
    t.equal(new ManagedLevelsIndex(tested).raiseGuardedCount(), 4);
    t.end();
  });
}

t.test('a packed snapshot is counted without building a user object', (t) => {
  const decoded = decodeSnapshot(encodeSnapshot(snapshot));
  const materialised = countMaterialised(decoded.users as PackedUserMap);
  const index = new ManagedLevelsIndex(decoded);
  t.equal(index.raiseGuardedCount(), 4);
  t.equal(index.raiseGuardedCount(), 4, 'kept for the snapshot');
  t.equal(materialised(), 0);
  t.end();
});
