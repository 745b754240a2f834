import t from 'tap';
import { buildPlanFixture } from '../../../fixtures/plan/plan-fixtures.js';

const minimal = {
  description: 'd',
  options: { authSharedSecret: 's' },
  observed: { users: [], rooms: [] },
  policy: { managedRoomIds: [], users: [] },
  expected: { actions: [] },
};

t.test('the fixture builder accepts a minimal fixture', async (t) => {
  const fixture = buildPlanFixture('minimal', minimal);
  t.equal(fixture.policy.users.size, 0);
  t.strictSame(fixture.expected, { actions: [], warnings: [], skippedRooms: [] });
});

t.test('the fixture builder refuses misspelt keys instead of defaulting them', async (t) => {
  t.throws(() => buildPlanFixture('x', { ...minimal, expected: { action: [] } }), /unknown key\(s\) action/);
  t.throws(
    () => buildPlanFixture('x', { ...minimal, observed: { users: [{ id: '@a:x', lockd: true }], rooms: [] } }),
    /observed\.users\[0\]: unknown key\(s\) lockd/,
  );
  t.throws(
    () => buildPlanFixture('x', { ...minimal, policy: { users: [{ id: '@a:x', joinedRooms: [{ roomId: '!a:x', PowerLevel: 5 }] }] } }),
    /joinedRooms\[0\]: unknown key\(s\) PowerLevel/,
  );
});
