import t from 'tap';
import { compilePolicy } from '../../../src/policy/compile.js';
import { hasErrorCode } from '../../../src/common/errors.js';
import { loadPolicyText, loadPolicyValue } from '../../../src/policy/load.js';
import type { PolicySnapshot } from '../../../src/policy/snapshot.js';
import { decodeSnapshot, encodeSnapshot } from '../../../src/policy/transport.js';
import { readPolicyFixtureText } from '../../fixtures/policy/fixture-files.js';
import { snapshotToJson } from '../../fixtures/policy/snapshot-json.js';

function compiled(policy: string | unknown): PolicySnapshot {
  const loaded = typeof policy === 'string'
    ? loadPolicyText(policy, { homeserverDomain: 'example.com' })
    : loadPolicyValue(policy, { homeserverDomain: 'example.com' });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return compilePolicy(loaded.document, { generation: 12, hash: 'abc', loadedAt: 1_700_000_000_000, source: 'api' });
}

function inSharedMemory(bytes: Uint8Array): Uint8Array {
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.length));
  shared.set(bytes);
  return shared;
}

for (const fixture of ['base-policy.json', 'readme-policy.json']) {
  t.test(`${fixture}: decode(encode(snapshot)) reads back the same snapshot, also from shared memory`, async (t) => {
    const snapshot = compiled(readPolicyFixtureText(fixture));
    const bytes = encodeSnapshot(snapshot);
    t.same(snapshotToJson(decodeSnapshot(bytes)), snapshotToJson(snapshot));
    t.same(snapshotToJson(decodeSnapshot(inSharedMemory(bytes))), snapshotToJson(snapshot));
  });
}

t.test('many users, non-ASCII and mixed-case ids, unmanaged rooms, every override state', async (t) => {
  const users = Array.from({ length: 3000 }, (_, i) => ({
    id: i % 7 === 0 ? `@User.${i}:example.com` : `@user${i}:example.com`,
    active: i % 2 === 0,
    authType: ['plain', 'passthrough', 'rest'][i % 3],
    authCredential: i % 3 === 2 ? 'https://auth.example.com/check' : `pässwörd ${i} 🔑`,
    displayName: `Ünïcode ${i} 😀`,
    avatarUri: '',
    joinedRooms: [{ roomId: '!a:example.com', powerLevel: i }, { roomId: `!own${i % 5}:example.com`, powerLevel: -i }],
    forbidRoomCreation: [null, true, false][i % 3],
    forbidEncryptedRoomCreation: [true, false, null][i % 3],
    forbidUnencryptedRoomCreation: [false, null, true][i % 3],
  }));
  const snapshot = compiled({ schemaVersion: 2, managedRoomIds: ['!a:example.com'], users });
  const decoded = decodeSnapshot(inSharedMemory(encodeSnapshot(snapshot)));
  t.same(snapshotToJson(decoded), snapshotToJson(snapshot));
  t.equal(decoded.users.size, 3000);
  t.equal(decoded.users.get('@User.7:example.com')?.displayName, 'Ünïcode 7 😀');
  t.equal(decoded.users.get('@user.7:example.com'), undefined, 'exact look-up is case-sensitive');
  t.equal(decoded.userIdsByLowercase.get('@user.7:example.com'), '@User.7:example.com');
  t.equal(decoded.userIdsByLowercase.get('@USER.7:example.com'), undefined, 'the index is keyed by the lower-cased id');
  t.equal(decoded.users.has('@nobody:example.com'), false);
  t.same([...decoded.managedRoomIds], ['!a:example.com']);
  t.same([...decoded.users.keys()].slice(0, 3), ['@User.0:example.com', '@user1:example.com', '@user2:example.com'], 'policy order');
  let visited = 0;
  decoded.users.forEach((user, id) => {
    if (user.id === id) visited += 1;
  });
  t.equal(visited, 3000);
});

t.test('an empty policy round-trips', async (t) => {
  const snapshot = compiled({ schemaVersion: 2 });
  t.same(snapshotToJson(decodeSnapshot(encodeSnapshot(snapshot))), snapshotToJson(snapshot));
});

t.test('bytes at an unaligned offset are still readable', async (t) => {
  const bytes = encodeSnapshot(compiled(readPolicyFixtureText('base-policy.json')));
  const padded = new Uint8Array(bytes.length + 3);
  padded.set(bytes, 3);
  t.equal(decodeSnapshot(padded.subarray(3)).users.get('@alice:example.com')?.authCredential, '5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8');
});

t.test('foreign or damaged bytes are refused with CORP_ERR_SNAPSHOT_FORMAT', async (t) => {
  const bytes = encodeSnapshot(compiled(readPolicyFixtureText('base-policy.json')));
  const wrongMagic = new Uint8Array(bytes);
  wrongMagic[0] = 0;
  const wrongVersion = new Uint8Array(bytes);
  wrongVersion[4] = 9;
  for (const [name, damaged] of [['magic', wrongMagic], ['version', wrongVersion], ['truncated', bytes.slice(0, bytes.length - 10)], ['too short', new Uint8Array(4)]] as const) {
    let caught: unknown = null;
    try {
      decodeSnapshot(damaged);
    } catch (err) {
      caught = err;
    }
    t.ok(hasErrorCode(caught, 'CORP_ERR_SNAPSHOT_FORMAT'), name);
  }
});

t.test('look-ups stay right past the per-thread memo of materialised users (16,384)', async (t) => {
  const count = 20_000;
  const snapshot = compiled({
    schemaVersion: 2,
    flags: {},
    managedRoomIds: ['!r:example.com'],
    users: Array.from({ length: count }, (_, i) => ({
      id: `@m${i}:example.com`, active: true, authType: 'plain', authCredential: `pw${i}`,
      joinedRooms: [{ roomId: '!r:example.com', powerLevel: i % 100 }],
    })),
  });
  const decoded = decodeSnapshot(encodeSnapshot(snapshot));
  let wrong = 0;
  // Twice round, so the memo is refilled and reset while look-ups go on.
  for (let pass = 0; pass < 2; pass += 1) {
    for (let i = 0; i < count; i += 1) {
      const user = decoded.users.get(`@m${i}:example.com`);
      if (user?.id !== `@m${i}:example.com` || user.authCredential !== `pw${i}` || user.joinedRooms.get('!r:example.com') !== i % 100) wrong += 1;
    }
  }
  t.equal(wrong, 0);
  t.equal([...decoded.users.values()].length, count, 'iteration sees every user once');
});
