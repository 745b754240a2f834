import t from 'tap';
import { decideUia, pinUiaStage, rewriteUiaBody, uiaSubject, UIA_ROUTE_IDS } from '../../../../src/gateway/uia/uia-decision.js';
import { ROUTE_IDS, type RouteId } from '../../../../src/gateway/router/route-ids.js';
import { loginTestSnapshot } from '../../../fixtures/login/policy.js';
import { decodeSnapshot, encodeSnapshot } from '../../../../src/policy/transport.js';

const snapshot = loginTestSnapshot();
const alice = snapshot.users.get('@alice:example.com')!;
const dave = snapshot.users.get('@dave:example.com')!;

t.test('the UIA route ids are router ids', async (t) => {
  for (const id of UIA_ROUTE_IDS) t.ok(ROUTE_IDS.includes(id), id);
  t.equal(UIA_ROUTE_IDS.size, 8);
});

t.test('uiaSubject: managed non-passthrough requesters on UIA routes only', async (t) => {
  const rows: Array<[RouteId, string | null, string | undefined, string]> = [
    ['devices.delete', '@alice:example.com', '@alice:example.com', 'managed'],
    ['account.deactivate', '@ALICE:example.com', '@alice:example.com', 'compared case-insensitively'],
    ['login.get_token', '@Erin:example.com', '@Erin:example.com', 'exact policy user'],
    ['keys.device_signing.upload', '@dave:example.com', '@dave:example.com', 'inactive users are still subjects (their stage is spoiled)'],
    ['devices.delete', '@bob:example.com', undefined, 'passthrough'],
    ['devices.delete', '@zed:example.com', undefined, 'unmanaged'],
    ['devices.delete', null, undefined, 'no requester'],
    ['room.send', '@alice:example.com', undefined, 'not a UIA route'],
    ['other', '@alice:example.com', undefined, 'catch-all'],
  ];
  // Also as a gateway thread reads the policy (packed bytes, packed case-insensitive index).
  const packed = decodeSnapshot(encodeSnapshot(snapshot));
  for (const [route, requester, expected, name] of rows) {
    t.equal(uiaSubject(route, requester, snapshot)?.id, expected, name);
    t.equal(uiaSubject(route, requester, packed)?.id, expected, `${name} (decoded snapshot)`);
  }
  t.equal(uiaSubject('devices.delete', '@alice:example.com', null), undefined, 'no policy');
});

t.test('decideUia', async (t) => {
  const body = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
  const stage = { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'alice-pw', session: 'S' };
  t.same(decideUia(alice, Buffer.from('not json')), { kind: 'untouched' }, 'not JSON');
  t.same(decideUia(alice, body({})), { kind: 'untouched' }, 'no auth: the first request, asking for flows');
  t.same(decideUia(alice, body({ auth: { session: 'S' } })), { kind: 'untouched' }, 'auth without type');
  t.same(decideUia(alice, body({ auth: { ...stage, type: 'm.login.email.identity' } })), { kind: 'untouched' }, 'other stage type');
  t.same(decideUia(alice, body({ auth: 'm.login.password' })), { kind: 'untouched' }, 'auth not an object');
  t.same(decideUia(alice, body({ auth: { ...stage, password: 5 } })), { kind: 'untouched' }, 'password not a string (Synapse answers 400)');
  t.same(decideUia(alice, body({ auth: { type: 'm.login.password', session: 'S' } })), { kind: 'untouched' }, 'password missing');
  t.match(decideUia(alice, body({ auth: stage, devices: ['A'] })), { kind: 'verify', password: 'alice-pw', body: { devices: ['A'] } });
  t.match(decideUia(dave, body({ auth: { ...stage, password: 'dave-pw' } })), { kind: 'spoil' }, 'inactive');
});

t.test('rewriteUiaBody', async (t) => {
  const body = {
    auth: { type: 'm.login.password', user: 'bob', medium: 'email', address: 'a@b', identifier: { type: 'm.id.thirdparty', medium: 'email', address: 'a@b' }, password: 'typed', session: 'SESSION' },
    new_password: 'np',
    logout_devices: false,
    devices: ['A', 'B'],
  };
  t.same(JSON.parse(rewriteUiaBody(body, '@alice:example.com', 'DERIVED').toString()), {
    auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: '@alice:example.com' }, password: 'DERIVED', session: 'SESSION' },
    new_password: 'np',
    logout_devices: false,
    devices: ['A', 'B'],
  });
  t.equal(body.auth.password, 'typed', 'the input is not modified');
});

t.test('pinUiaStage: a login-like stage that names a user is pinned to the requester; anything else is left alone', async (t) => {
  const pin = (auth: unknown): unknown => JSON.parse(pinUiaStage(Buffer.from(JSON.stringify({ auth })), '@me:hs')?.toString() ?? 'null');
  t.same(pin({ type: 'm.login.password', identifier: { type: 'm.id.thirdparty', medium: 'email', address: 'x@y' }, password: 'pw' }),
    { auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: '@me:hs' }, password: 'pw' } });
  t.same(pin({ type: 'com.example.ldap', user: 'other', password: 'pw', session: 's' }),
    { auth: { type: 'com.example.ldap', password: 'pw', session: 's', identifier: { type: 'm.id.user', user: '@me:hs' } } },
    'a password module\'s login type too (verification 17, L2)');
  t.same(pin({ type: 'm.login.password', user: 'other' }), { auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: '@me:hs' } } },
    'without a password: pinned, Synapse refuses it itself');
  for (const body of ['', 'nope', '{}', '{"auth":{"type":"m.login.sso","session":"s"}}', '{"auth":{"type":"m.login.password","password":"pw"}}',
    '{"auth":{"type":"m.login.email.identity","threepid_creds":{}}}', '{"auth":{"type":1,"user":"x"}}', '{"auth":{"session":"s"}}']) {
    t.equal(pinUiaStage(Buffer.from(body), '@me:hs'), null, body);
  }
});
