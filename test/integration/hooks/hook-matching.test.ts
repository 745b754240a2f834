import t from 'tap';
import { startHookScenario } from '../../support/hook-scenario.js';
import { matrixCall } from '../../support/matrix-client.js';

/**
 * Match rules against the forms Synapse executes, through Corporal's real gateway in front of a
 * real Synapse: a `route` rule sees the segments Synapse routes on (`%2F` inside a parameter adds
 * none).
 */

const scenario = await startHookScenario();
t.teardown(() => scenario.stop());
const { users, room, hs } = scenario;
const roomPath = `/_matrix/client/v3/rooms/${encodeURIComponent(room)}`;
const REJECTED = { errcode: 'M_FORBIDDEN', error: 'Rejected by a hook' };

/** The `body`s of the room's recent events of `type`, read at Synapse directly (as alice). */
async function roomBodies(type: string): Promise<string[]> {
  const page = await matrixCall<{ chunk: Array<{ type: string; content: { body?: string } }> }>(hs.baseUrl, 'GET', `${roomPath}/messages`, {
    token: users.alice.accessToken,
    query: { dir: 'b', limit: 100 },
  });
  return page.chunk.filter((event) => event.type === type).map((event) => event.content.body ?? '');
}

t.test('route rules: %2F in a txn id does not get past a rule pinning it to one segment', async (t) => {
  await scenario.setHooks([{
    id: 'no-messages', eventType: 'beforeAuthenticatedRequest', methodMatchesRegex: '^PUT$',
    routeMatchesRegex: '^/_matrix/client/(r0|v3)/rooms/[^/]+/send/m\\.room\\.message/[^/]+$',
    action: 'reject', rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'Rejected by a hook',
  }]);
  for (const txn of ['t1', 't%2F2', 't%2f3', 't%252F4', 'a%2Fb%2Fc']) {
    const answer = await scenario.viaGateway('bob', 'PUT', `${roomPath}/send/m.room.message/${txn}`, { body: { msgtype: 'm.text', body: `via txn ${txn}` } });
    t.same([answer.status, answer.json], [403, REJECTED], `txn ${txn}: rejected by the hook`);
  }
  const encodedType = await scenario.viaGateway('bob', 'PUT', `${roomPath}/send/m%2Eroom%2Emessage/t%2F5`, { body: { msgtype: 'm.text', body: 'via txn t%2F5' } });
  t.same([encodedType.status, encodedType.json], [403, REJECTED], 'an encoded event type is still decoded');
  const other = await scenario.viaGateway('bob', 'PUT', `${roomPath}/send/m.hooktest/t%2F6`, { body: { body: 'not a message' } });
  t.equal(other.status, 200, `another event type passes: ${other.text}`);
  t.same(await roomBodies('m.hooktest'), ['not a message'], 'the control event is in the room');
  t.same(await roomBodies('m.room.message'), [], 'no rejected message reached the room');
});
