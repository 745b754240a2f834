import t from 'tap';
import { rewriteLoginBody } from '../../../../src/gateway/login/login-rewrite.js';
import { parseJsonObject } from '../../../../src/gateway/json-body.js';
import { decideLogin } from '../../../../src/gateway/login/login-decision.js';
import { identifyLoginUser } from '../../../../src/gateway/login/login-identifier.js';
import { DOMAIN, loginTestSnapshot } from '../../../fixtures/login/policy.js';

const DERIVED = 'd'.repeat(128);

function rewrite(body: string, userId: string): Record<string, unknown> {
  const parsed = parseJsonObject(body);
  if (parsed === null) throw new Error('fixture body is not a JSON object');
  return JSON.parse(rewriteLoginBody(parsed, userId, DERIVED).toString('utf8')) as Record<string, unknown>;
}

t.test('keeps every other field, replaces who and how', async (t) => {
  const out = rewrite(
    JSON.stringify({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: 'ALICE', extra: 1 },
      password: 'alice-pw',
      device_id: 'PHONE',
      initial_device_display_name: 'My phone',
      refresh_token: true,
      'org.example.custom': { nested: [1, 2, 3] },
    }),
    '@alice:example.com',
  );
  t.same(out, {
    type: 'm.login.password',
    identifier: { type: 'm.id.user', user: '@alice:example.com' },
    password: DERIVED,
    device_id: 'PHONE',
    initial_device_display_name: 'My phone',
    refresh_token: true,
    'org.example.custom': { nested: [1, 2, 3] },
  });
});

t.test('removes the legacy fields Synapse would prefer to the identifier', async (t) => {
  const out = rewrite('{"type":"m.login.password","user":"alice","medium":"email","address":"x@y","password":"p"}', '@alice:example.com');
  t.notOk('user' in out);
  t.notOk('medium' in out);
  t.notOk('address' in out);
  t.same(identifyLoginUser(out), { kind: 'user', user: '@alice:example.com' }, 'Synapse now reads exactly the policy user');
});

t.test('a conflicting body is rewritten for the user Synapse would have picked', async (t) => {
  const body = '{"type":"m.login.password","identifier":{"type":"m.id.user","user":"bob"},"user":"alice","password":"alice-pw"}';
  const decision = decideLogin(Buffer.from(body), loginTestSnapshot(), DOMAIN);
  if (decision.kind !== 'authenticate') throw new Error(`expected authenticate, got ${decision.kind}`);
  const out = JSON.parse(rewriteLoginBody(decision.body, decision.user.id, DERIVED).toString()) as Record<string, unknown>;
  t.same(out['identifier'], { type: 'm.id.user', user: '@alice:example.com' });
  t.notOk('user' in out);
});

t.test('a client __proto__ key stays data and does not change the prototype', async (t) => {
  const parsed = parseJsonObject('{"__proto__":{"polluted":true},"type":"m.login.password","user":"alice","password":"p"}');
  if (parsed === null) throw new Error('not parsed');
  const bytes = rewriteLoginBody(parsed, '@alice:example.com', DERIVED);
  t.match(bytes.toString(), /"__proto__":\{"polluted":true\}/);
  t.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

t.test('the body is UTF-8 and its length is its byte length', async (t) => {
  const bytes = rewriteLoginBody({ type: 'm.login.password', initial_device_display_name: 'Téléphone 📱' }, '@alice:example.com', DERIVED);
  t.equal(Buffer.byteLength(bytes.toString('utf8')), bytes.length);
  t.match(bytes.toString('utf8'), /Téléphone 📱/);
});
