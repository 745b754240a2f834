import t from 'tap';
import { compilePolicy } from '../../../src/policy/compile.js';
import { hashPolicy } from '../../../src/policy/hash.js';
import { loadPolicyValue } from '../../../src/policy/load.js';
import {
  canUserChangeOwnMembershipStateInRoom, canUserCreateEncryptedRoom, canUserCreateRoom, canUserCreateUnencryptedRoom,
  canUserUseCustomAvatar, canUserUseCustomDisplayName,
} from '../../../src/policy/permissions.js';
import type { PolicySnapshot } from '../../../src/policy/snapshot.js';
import { decodeSnapshot, encodeSnapshot } from '../../../src/policy/transport.js';
import { readPolicyFixture } from '../../fixtures/policy/fixture-files.js';

interface Assertment {
  type: 'leaveRoom' | 'changeOwnMembership' | 'createRoom' | 'createEncryptedRoom' | 'createUnencryptedRoom';
  payload: { userId: string; roomId?: string };
  allowed: boolean;
  expectationComment: string;
}

const CHECKS: Record<Assertment['type'], (snapshot: PolicySnapshot, payload: Assertment['payload']) => boolean> = {
  // matrix-corporal's CanUserLeaveRoom: the same rule as changing one's own membership.
  leaveRoom: (s, p) => canUserChangeOwnMembershipStateInRoom(s, p.userId, p.roomId ?? ''),
  changeOwnMembership: (s, p) => canUserChangeOwnMembershipStateInRoom(s, p.userId, p.roomId ?? ''),
  createRoom: (s, p) => canUserCreateRoom(s, p.userId),
  createEncryptedRoom: (s, p) => canUserCreateEncryptedRoom(s, p.userId),
  createUnencryptedRoom: (s, p) => canUserCreateUnencryptedRoom(s, p.userId),
};

function snapshotOf(policy: unknown): PolicySnapshot {
  const loaded = loadPolicyValue(policy, { homeserverDomain: 'host' });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return compilePolicy(loaded.document, { generation: 1, hash: hashPolicy(loaded.document), loadedAt: 0, source: 'test' });
}

for (const name of ['01-managed-user.json', '02-unmanaged-user.json', '03-room-creation.json']) {
  const fixture = readPolicyFixture<{ policy: unknown; permissionAssertments: Assertment[] }>(`permissions/${name}`);
  const compiled = snapshotOf(fixture.policy);
  // The same predicates must hold on a snapshot that went through the byte transport.
  for (const [form, snapshot] of [['compiled', compiled], ['decoded', decodeSnapshot(encodeSnapshot(compiled))]] as const) {
    t.test(`${name} (${form} snapshot)`, async (t) => {
      for (const assertment of fixture.permissionAssertments) {
        t.equal(CHECKS[assertment.type](snapshot, assertment.payload), assertment.allowed, `${assertment.type} ${JSON.stringify(assertment.payload)}: ${assertment.expectationComment}`);
      }
    });
  }
}

t.test('custom display names and avatars follow the global flags only', async (t) => {
  const off = snapshotOf({ schemaVersion: 2 });
  const on = snapshotOf({ schemaVersion: 2, flags: { allowCustomUserDisplayNames: true, allowCustomUserAvatars: true } });
  t.equal(canUserUseCustomDisplayName(off), false);
  t.equal(canUserUseCustomAvatar(off), false);
  t.equal(canUserUseCustomDisplayName(on), true);
  t.equal(canUserUseCustomAvatar(on), true);
});
