import t from 'tap';
import { forwardedLoginHolds, loginDecisionHolds } from '../../../../src/gateway/login/login-decision-holds.js';
import type { PolicySnapshot, SnapshotUser } from '../../../../src/policy/snapshot.js';

type Entry = Pick<SnapshotUser, 'id' | 'active' | 'authType' | 'authCredential' | 'displayName'>;

/** A snapshot holding only what the login decisions read: the users and their lower-case index. */
function snapshot(entries: Entry[]): PolicySnapshot {
  const users = new Map(entries.map((user) => [user.id, user as SnapshotUser]));
  const userIdsByLowercase = new Map(entries.map((user) => [user.id.toLowerCase(), user.id]));
  return { users, userIdsByLowercase } as unknown as PolicySnapshot;
}

const alice: Entry = { id: '@alice:example.org', active: true, authType: 'plain', authCredential: 'secret', displayName: 'Alice' };
const bob: Entry = { id: '@bob:example.org', active: true, authType: 'plain', authCredential: 'bob', displayName: 'Bob' };

t.test('loginDecisionHolds: every field of the user\'s login entry is compared (mutation 18)', async (t) => {
  const holds = loginDecisionHolds(snapshot([alice, bob]), alice.id);
  t.ok(holds(snapshot([{ ...alice, displayName: 'Someone else' }, { ...bob, authCredential: 'changed' }])), 'a push changing other fields or users: holds');
  t.notOk(holds(snapshot([{ ...alice, active: false }, bob])), 'the user made inactive: fails');
  t.notOk(holds(snapshot([{ ...alice, authType: 'sha1' as SnapshotUser['authType'] }, bob])), 'another auth type: fails');
  t.notOk(holds(snapshot([{ ...alice, authCredential: 'new secret' }, bob])), 'another credential: fails');
  t.notOk(holds(snapshot([bob])), 'the user no longer managed: fails');
});

t.test('forwardedLoginHolds: any user\'s login entry changing fails it, other fields do not (mutation 18)', async (t) => {
  const holds = forwardedLoginHolds(snapshot([alice, bob]));
  t.ok(holds(snapshot([{ ...alice, displayName: 'Renamed' }, bob])), 'a display name: holds');
  t.notOk(holds(snapshot([alice, { ...bob, active: false }])), 'a user made inactive: fails');
  t.notOk(holds(snapshot([alice, { ...bob, authType: 'sha1' as SnapshotUser['authType'] }])), 'an auth type: fails');
  t.notOk(holds(snapshot([alice, { ...bob, authCredential: 'changed' }])), 'a credential: fails');
  t.notOk(holds(snapshot([alice, bob, { ...bob, id: '@carol:example.org' }])), 'a user added: fails');
});
