import { schedulesDelayedEvent } from '../../../../src/gateway/checks/delayed-events.js';
import t from 'tap';
import { POLICY_CHECKS } from '../../../../src/gateway/checks/registry.js';
import type { CheckInput, CurrentPowerLevels } from '../../../../src/gateway/checks/check-input.js';
import { parseJsonBody } from '../../../../src/gateway/json-body.js';
import { ManagedLevelsIndex } from '../../../../src/gateway/checks/managed-levels-index.js';
import { tokenDenial, type TokenState } from '../../../../src/gateway/checks/token-rules.js';
import { DECISIONS, type Decision } from '../../../../src/gateway/checks/decision.js';
import type { RouteId } from '../../../../src/gateway/router/index.js';
import type { PolicySnapshot } from '../../../../src/policy/snapshot.js';
import { decodeSnapshot, encodeSnapshot } from '../../../../src/policy/transport.js';
import {
  SPECIAL_REQUESTERS, loadCheckRows, loadFixturePolicy, mxid, parseExpected, rowBodyBytes, rowMethod, rowSnapshot,
  type CheckRow, type FixturePolicy,
} from '../../../fixtures/checks/fixture-files.js';

const policy = loadFixturePolicy();
const rows = loadCheckRows();

function resolverFor(row: CheckRow): CheckInput['resolveAlias'] {
  if (row.aliasResolver === 'absent') return undefined;
  if (row.aliasResolver === 'throws') return () => Promise.reject(new Error('directory unavailable'));
  const aliases = row.aliases ?? {};
  return (alias) => {
    const roomId = Object.hasOwn(aliases, alias) ? aliases[alias] : undefined;
    return Promise.resolve(roomId === undefined ? null : { roomId, servers: ['hs'] });
  };
}

/** Synapse's defaults for the levels the corporal user needs (a fixture's `current.thresholds` overrides them). */
const SYNAPSE_DEFAULT_THRESHOLDS = { kick: 50, ban: 50, invite: 0, powerLevels: 50 };

function currentFor(row: CheckRow): CheckInput['currentPowerLevels'] {
  const current = row.current;
  if (current === undefined) return undefined;
  if (current === 'error') return () => Promise.reject(new Error('state unreadable'));
  if (current === 'unreadable') return () => Promise.resolve(null);
  const levels: CurrentPowerLevels = {
    users: current.users ?? {},
    usersDefault: current.usersDefault ?? 0,
    thresholds: { ...SYNAPSE_DEFAULT_THRESHOLDS, ...current.thresholds },
    creators: new Set(current.creators ?? []),
  };
  return () => Promise.resolve(levels);
}

function encryptionFor(row: CheckRow): CheckInput['currentEncryption'] {
  const encryption = row.encryption;
  if (encryption === undefined) return undefined;
  if (encryption === 'error') return () => Promise.reject(new Error('state unreadable'));
  if (encryption === 'unreadable') return () => Promise.resolve(null);
  return () => Promise.resolve(encryption);
}

function tokenState(requester: string): { token: TokenState; userId: string | null } {
  if (requester === SPECIAL_REQUESTERS.anon) return { token: 'none', userId: null };
  if (requester === SPECIAL_REQUESTERS.badtoken) return { token: 'unknown', userId: null };
  if (requester === SPECIAL_REQUESTERS.invalid) return { token: 'invalid', userId: null };
  if (requester === SPECIAL_REQUESTERS.locked) return { token: 'locked', userId: null };
  return { token: 'user', userId: mxid(policy, requester) };
}

/**
 * The two forms of a snapshot: as the control child compiles it, and as a gateway thread enforces
 * it (packed into bytes and read through `PackedUserMap`/`PackedLowercaseIndex`).
 */
const FORMS = {
  compiled: (snapshot: PolicySnapshot) => snapshot,
  decoded: (snapshot: PolicySnapshot) => decodeSnapshot(encodeSnapshot(snapshot)),
} as const;

/** Runs one row for one requester the way the pipeline does: token rules, body when needed, check. */
async function decide(fixture: FixturePolicy, row: CheckRow, requester: string, form: keyof typeof FORMS): Promise<Decision> {
  const check = POLICY_CHECKS.get(row.route as RouteId);
  if (check === undefined) throw new Error(`${row.route} is not policy-checked`);
  const { token, userId } = tokenState(requester);
  const denial = tokenDenial(check, token);
  if (denial !== null) return denial;
  const snapshot = FORMS[form](rowSnapshot(fixture, row));
  const input: CheckInput = {
    route: { id: row.route as RouteId, params: row.params ?? {}, prefix: 'v3' },
    method: rowMethod(row),
    userId,
    snapshot,
    delayed: schedulesDelayedEvent(row.query ?? ''),
    body: check.needsBody === 'json' ? parseJsonBody(rowBodyBytes(row)) : undefined,
    corporalUserId: fixture.corporalUserId,
    serverName: fixture.serverName,
    levels: new ManagedLevelsIndex(snapshot),
    resolveAlias: resolverFor(row),
    currentPowerLevels: currentFor(row),
    currentEncryption: encryptionFor(row),
  };
  return check.check(input);
}

for (const form of Object.keys(FORMS) as Array<keyof typeof FORMS>) {
  t.test(`fixture rows (${form} snapshot)`, async (t) => {
    let cases = 0;
    for (const row of rows) {
      for (const [requester, expected] of Object.entries(row.expect)) {
        const decision = await decide(policy, row, requester, form);
        const label = `${row.file}: ${row.route} ${JSON.stringify(row.params ?? {})} as ${requester}${row.note ? ` (${row.note})` : ''}`;
        // An allowed join or knock by a resolved alias is pinned to the room it was checked for.
        const alias = row.params?.['roomIdOrAlias'];
        const resolved = decision.allow && alias?.startsWith('#') === true ? row.aliases?.[alias] : undefined;
        if (decision.allow && decision.pinnedRoom !== undefined) {
          t.same(decision.pinnedRoom, { roomId: resolved, servers: ['hs'] }, `${label}: pinned to the checked room`);
        }
        t.same(decision.allow ? { allow: true } : decision, parseExpected(expected), label);
        cases++;
      }
    }
    t.ok(cases >= 600, `${cases} cases in ${rows.length} rows`);
  });
}

t.test('the policed route ids', (t) => {
  t.same(
    [...POLICY_CHECKS.keys()].sort(),
    [
      'account.3pid.add', 'account.3pid.bind', 'account.3pid.delete', 'account.3pid.unbind', 'account.deactivate',
      'account.password', 'account_data.set', 'login.get_token', 'profile.avatar_url.set', 'profile.displayname.set', 'register',
      'room.ban', 'room.create', 'room.join', 'room.join_by_alias', 'room.kick', 'room.knock', 'room.leave',
      'room.redact', 'room.send', 'room.send.redaction', 'room.state.encryption', 'room.state.member', 'room.state.power_levels',
      'room.state.redaction', 'room.state.tombstone',
      'room.upgrade',
    ],
  );
  for (const id of ['other', 'room.state.get', 'room.state.other', 'profile.get', 'profile.field.set', 'sync', 'room.invite', 'room.unban'] as RouteId[]) {
    t.notOk(POLICY_CHECKS.has(id), `${id} is not policy-checked`);
  }
  t.end();
});

t.test('every policed route id has rows for managed, unmanaged, corporal, token-less and refused-token requesters', (t) => {
  const managed = new Set(policy.users.map((u) => u.id.slice(1, u.id.indexOf(':'))));
  for (const id of POLICY_CHECKS.keys()) {
    const requesters = new Set(rows.filter((row) => row.route === id).flatMap((row) => Object.keys(row.expect)));
    t.ok([...requesters].some((r) => managed.has(r)), `${id}: a managed user`);
    t.ok(requesters.has('bob'), `${id}: an unmanaged user`);
    t.ok(requesters.has('corporal'), `${id}: the corporal user`);
    t.ok(requesters.has('anon'), `${id}: no token`);
    t.ok(requesters.has('badtoken'), `${id}: an unknown token`);
    t.ok(requesters.has('invalid'), `${id}: malformed credentials`);
    t.ok(requesters.has('locked'), `${id}: a locked user`);
  }
  t.end();
});

t.test('registry entries and decisions are frozen', (t) => {
  for (const [id, check] of POLICY_CHECKS) t.ok(Object.isFrozen(check), `${id}`);
  t.end();
});

t.test('a check that needs a token answers M_MISSING_TOKEN when run without a user id (fails closed if the token rules were skipped)', async (t) => {
  const snapshot = rowSnapshot(policy, {});
  for (const [id, check] of POLICY_CHECKS) {
    if (!check.requiresToken) continue;
    const input: CheckInput = {
      route: { id, params: { roomId: '!free:hs', roomIdOrAlias: '!free:hs', userId: '@alice:hs', stateKey: '', type: 'x' }, prefix: 'v3' },
      method: 'PUT', userId: null, snapshot, delayed: false, body: parseJsonBody(Buffer.from('{}')),
      corporalUserId: policy.corporalUserId, serverName: policy.serverName, levels: new ManagedLevelsIndex(snapshot),
    };
    t.same(await check.check(input), DECISIONS.missingToken, id);
  }
});

t.test('a join or knock by alias is checked when the policy manages a single room', async (t) => {
  const single: FixturePolicy = { ...policy, managedRoomIds: ['!managed:hs'] };
  for (const route of ['room.join_by_alias', 'room.knock']) {
    const row: CheckRow = { file: 'inline', route, params: { roomIdOrAlias: '#trap:hs' }, aliases: { '#trap:hs': '!managed:hs' }, expect: {} };
    t.same(await decide(single, row, 'carol', 'compiled'), DECISIONS.roomNotInPolicy, `${route}: carol's policy does not list the room`);
    t.match(await decide(single, row, 'alice', 'compiled'), { allow: true }, `${route}: alice's does`);
  }
});
