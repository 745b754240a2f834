import t from 'tap';
import { decideLogin, type LoginDecision } from '../../../../src/gateway/login/login-decision.js';
import { LOGIN_DENIALS } from '../../../../src/gateway/login/login-answers.js';
import { DOMAIN, loginTestSnapshot } from '../../../fixtures/login/policy.js';
import { readLoginFixture, rowBody, type BodyRow } from '../../../fixtures/login/fixture-rows.js';
import { decodeSnapshot, encodeSnapshot } from '../../../../src/policy/transport.js';
import type { PolicySnapshot } from '../../../../src/policy/snapshot.js';

interface DecisionRow extends BodyRow {
  name: string;
  policy?: 'none' | 'allow3pid';
  expect:
    | { kind: 'deny'; status: number; errcode: string; message: string }
    | { kind: 'proxy'; reason: string }
    | { kind: 'authenticate'; userId: string; password: string };
}

const rows = readLoginFixture<DecisionRow>('login-decision.json');
const snapshots = { default: loginTestSnapshot(), allow3pid: loginTestSnapshot({ flags: { allow3pidLogin: true } }), none: null };
/** The same policies as a gateway thread reads them (packed bytes; case-insensitive index). */
const decoded = (snapshot: PolicySnapshot): PolicySnapshot => decodeSnapshot(encodeSnapshot(snapshot));
const packedSnapshots = { default: decoded(snapshots.default), allow3pid: decoded(snapshots.allow3pid), none: null };

/** The decision reduced to what the fixture states. */
function summary(decision: LoginDecision): DecisionRow['expect'] {
  switch (decision.kind) {
    case 'deny':
      return { kind: 'deny', status: decision.answer.status, errcode: decision.answer.errcode, message: decision.answer.message };
    case 'proxy':
      return { kind: 'proxy', reason: decision.reason };
    case 'authenticate':
      return { kind: 'authenticate', userId: decision.user.id, password: decision.password };
  }
}

for (const [form, set] of [['compiled', snapshots], ['decoded', packedSnapshots]] as const) {
  t.test(`fixture table (${form} snapshot)`, async (t) => {
    t.ok(rows.length > 80, `${rows.length} rows`);
    for (const row of rows) {
      const decision = decideLogin(rowBody(row), set[row.policy ?? 'default'], DOMAIN);
      t.same(summary(decision), row.expect, row.name);
    }
  });
}

t.test('every fixed denial is covered by a row', async (t) => {
  const covered = new Set(rows.filter((row) => row.expect.kind === 'deny').map((row) => JSON.stringify(row.expect)));
  for (const [name, answer] of Object.entries(LOGIN_DENIALS)) {
    if (name === 'authenticator-error') continue; // decided by the password check, see login-interceptor.test
    if (name === 'case-variant') continue; // decided on Synapse's answer, see login-response.test
    if (name === 'unserved-path') continue; // decided on the path by the login phase, see login-stock-synapse.test
    t.ok(covered.has(JSON.stringify({ kind: 'deny', ...answer })), name);
  }
});

t.test('a string body decides like its bytes', async (t) => {
  const body = '{"type":"m.login.password","user":"ALICE","password":"p"}';
  t.same(summary(decideLogin(body, snapshots.default, DOMAIN)), summary(decideLogin(Buffer.from(body), snapshots.default, DOMAIN)));
});

t.test('the authenticate decision carries the parsed body for the rewrite', async (t) => {
  const decision = decideLogin(Buffer.from('{"type":"m.login.password","user":"alice","password":"alice-pw","device_id":"D"}'), snapshots.default, DOMAIN);
  t.match(decision, { kind: 'authenticate', body: { type: 'm.login.password', user: 'alice', password: 'alice-pw', device_id: 'D' } });
});

t.test('a domain configured in upper case matches ids in any case', async (t) => {
  const decision = decideLogin(Buffer.from('{"type":"m.login.password","user":"@alice:example.com","password":"x"}'), snapshots.default, 'EXAMPLE.com');
  t.match(decision, { kind: 'authenticate', user: { id: '@alice:example.com' } });
  t.match(decideLogin(Buffer.from('{"type":"m.login.password","user":"alice","password":"x"}'), snapshots.default, 'EXAMPLE.com'), { kind: 'authenticate', user: { id: '@alice:example.com' } }, 'a localpart too');
});
