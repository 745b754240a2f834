import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { createPowerLevelsReader } from '../../../../src/gateway/checks/power-levels-reader.js';
import { roomStatePowerLevels } from '../../../../src/gateway/checks/power-levels-check.js';
import { parseJsonBody } from '../../../../src/gateway/json-body.js';
import { ManagedLevelsIndex } from '../../../../src/gateway/checks/managed-levels-index.js';
import { DECISIONS } from '../../../../src/gateway/checks/decision.js';
import type { CheckInput } from '../../../../src/gateway/checks/check-input.js';
import { loadFixturePolicy, rowSnapshot } from '../../../fixtures/checks/fixture-files.js';

/**
 * A managed room without an `m.room.power_levels` event: Synapse gives its creator 100 there
 * (`content.creator` before v11, the sender from v11), so does the reconciler, and so must the
 * gateway's check, or a member could demote the corporal user (creator of a pre-v12 room) and lock
 * the reconciler out (quality review 17b).
 */

const server = createServer((req, res) => {
  const url = req.url ?? '';
  if (url.includes('/state/m.room.create')) {
    res.writeHead(200, { 'content-type': 'application/json' });
    // !v11: the sender is the creator; !managed (v10): content.creator is, whoever sent it.
    const content = url.includes('v11') ? { room_version: '11' } : { room_version: '10', creator: '@corporal:hs' };
    res.end(JSON.stringify({ type: 'm.room.create', sender: url.includes('v11') ? '@corporal:hs' : '@someone:hs', state_key: '', content }));
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ errcode: 'M_NOT_FOUND', error: 'Event not found.' }));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 2 });
t.teardown(async () => {
  await pool.close();
  server.close();
});
const read = createPowerLevelsReader({ dispatcher: pool, basePath: '', timeoutMs: 5000 });
const OWN_TOKEN = { token: 'token', masqueradeAs: null };

t.test('the reader gives the pre-v12 creator its implicit 100 when there is no power-levels event', async (t) => {
  const current = await read('!managed:hs', OWN_TOKEN, '@bob:hs');
  t.not(current, null);
  t.same(current?.users, { '@corporal:hs': 100 }, 'Synapse (and the reconciler) count the creator, content.creator, at 100');
  t.same(current?.thresholds, { kick: 50, ban: 50, invite: 0, powerLevels: 50 }, 'the levels Corporal needs at Synapse\'s defaults for empty content (state_default 50)');
  const v11 = await read('!v11:hs', OWN_TOKEN, '@bob:hs');
  t.same(v11?.users, { '@corporal:hs': 100 }, 'from v11 the sender is the creator');
});

t.test('a member cannot demote the corporal user (creator, implicit 100) in a managed room without a power-levels event', async (t) => {
  const policy = loadFixturePolicy();
  const snapshot = rowSnapshot(policy, {});
  const input: CheckInput = {
    route: { id: 'room.state.power_levels', params: { roomId: '!managed:hs', eventType: 'm.room.power_levels', stateKey: '' }, prefix: 'v3' },
    method: 'PUT',
    userId: '@bob:hs',
    snapshot,
    delayed: false,
    // Managed users at their policy levels; bob takes 100; the corporal user is left at users_default 0.
    body: parseJsonBody(Buffer.from(JSON.stringify({ users: { '@alice:hs': 50, '@pat:hs': 0, '@bob:hs': 100 } }))),
    corporalUserId: policy.corporalUserId,
    serverName: policy.serverName,
    levels: new ManagedLevelsIndex(snapshot),
    currentPowerLevels: (roomId) => read(roomId, OWN_TOKEN, '@bob:hs'),
  };
  t.same(await roomStatePowerLevels.check(input), DECISIONS.corporalUserProtected);
});
