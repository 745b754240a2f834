import t from 'tap';
import { identityRefusal } from '../../../../src/gateway/identity/inactive-in-policy.js';
import { DECISIONS } from '../../../../src/gateway/checks/decision.js';
import { routeRequest } from '../../../../src/gateway/router/index.js';
import type { Identity } from '../../../../src/gateway/identity/identity.js';
import { fixtureSnapshot } from '../../../support/fixture-snapshot.js';
import { decodeSnapshot, encodeSnapshot } from '../../../../src/policy/transport.js';
import type { SnapshotUser } from '../../../../src/policy/snapshot.js';

const CORPORAL = '@corporal:hs';
const user = (id: string, active: boolean): SnapshotUser => ({
  id, active, authType: 'plain', authCredential: 'pw', displayName: '', avatarUri: '', joinedRooms: new Map(),
  powerLevelsManaged: true, forbidRoomCreation: null, forbidEncryptedRoomCreation: null, forbidUnencryptedRoomCreation: null,
});
const compiled = fixtureSnapshot({ users: [user('@alice:hs', true), user('@ina:hs', false), user(CORPORAL, false)], managedRoomIds: [] });
const as = (userId: string): Identity => ({ kind: 'user', userId, deviceId: 'D', isGuest: false });

/** [method, path, refused for @ina:hs] — the route id comes from the real router. */
const ROWS: ReadonlyArray<[string, string, boolean]> = [
  ['GET', '/_matrix/client/v3/sync', true],
  ['PUT', '/_matrix/client/v3/rooms/!r:hs/send/m.room.message/t', true],
  ['POST', '/_matrix/client/v1/login/get_token', true],
  ['GET', '/_matrix/client/v1/media/download/hs/abc', true],
  ['GET', '/_synapse/admin/v2/users/@x:hs', true],
  ['GET', '/_matrix/client/v3/logout', true],
  ['DELETE', '/_matrix/client/v3/devices/D', true],
  ['POST', '/_matrix/client/v3/delete_devices', true],
  ['POST', '/_matrix/client/v3/account/deactivate', true],
  ['POST', '/_matrix/client/v3/account/password', true],
  ['POST', '/_matrix/client/v3/logout', false],
  ['POST', '/_matrix/client/r0/logout/all', false],
  ['POST', '/_matrix/client/v3/login', false],
  ['GET', '/_matrix/client/versions', false],
];

for (const [form, snapshot] of [['compiled', compiled], ['decoded', decodeSnapshot(encodeSnapshot(compiled))]] as const) {
  t.test(`who the policy refuses outright, where Synapse refuses a locked account (${form} snapshot)`, (t) => {
    for (const [method, path, refused] of ROWS) {
      const decision = routeRequest(method, path, '');
      const routeId = decision.kind === 'route' ? decision.match.id : decision.kind;
      t.equal(identityRefusal(snapshot, as('@ina:hs'), false, routeId, path, CORPORAL), refused ? DECISIONS.userLocked : null, `inactive: ${method} ${path}`);
      t.equal(identityRefusal(snapshot, as('@INA:hs'), false, routeId, path, CORPORAL), refused ? DECISIONS.caseVariantOfManagedUser : null, `case variant of an inactive user: ${method} ${path}`);
      t.equal(identityRefusal(snapshot, as('@Alice:hs'), false, routeId, path, CORPORAL), refused ? DECISIONS.caseVariantOfManagedUser : null, `case variant of an active user: ${method} ${path}`);
      t.equal(identityRefusal(snapshot, as('@alice:hs'), false, routeId, path, CORPORAL), null, `active: ${method} ${path}`);
      t.equal(identityRefusal(snapshot, as('@bob:hs'), false, routeId, path, CORPORAL), null, `unmanaged: ${method} ${path}`);
    }
    t.equal(identityRefusal(snapshot, as(CORPORAL), false, 'sync', '/_matrix/client/v3/sync', CORPORAL), null, 'Corporal.UserID is not refused');
    for (const [method, path] of ROWS) {
      const decision = routeRequest(method, path, '');
      const routeId = decision.kind === 'route' ? decision.match.id : decision.kind;
      t.equal(identityRefusal(snapshot, as(CORPORAL), true, routeId, path, CORPORAL), DECISIONS.corporalUserMasquerade, `an appservice acting as Corporal.UserID is: ${method} ${path}`);
      t.equal(identityRefusal(snapshot, as('@bob:hs'), true, routeId, path, CORPORAL), null, `an appservice acting as an unmanaged user is not: ${method} ${path}`);
    }
    t.equal(identityRefusal(snapshot, as('@CORPORAL:hs'), false, 'sync', '/_matrix/client/v3/sync', CORPORAL), DECISIONS.caseVariantOfManagedUser,
      'a case variant of Corporal.UserID is another account, and is not exempt');
    for (const identity of [{ kind: 'anonymous' }, { kind: 'locked' }, { kind: 'unknown-token' }] as const) {
      t.equal(identityRefusal(snapshot, identity, false, 'sync', '/_matrix/client/v3/sync', CORPORAL), null, identity.kind);
    }
    t.end();
  });
}
