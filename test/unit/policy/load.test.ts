import t from 'tap';
import { loadPolicyText, loadPolicyValue } from '../../../src/policy/load.js';
import { readPolicyFixtureText, readRepoText } from '../../fixtures/policy/fixture-files.js';

const options = { homeserverDomain: 'example.com' };

t.test('config/policy.example.json is a valid schema 2 policy without warnings', async (t) => {
  const loaded = loadPolicyText(readRepoText('config/policy.example.json'), options);
  t.same(loaded.ok ? loaded.warnings : loaded.errors, []);
  t.equal(loaded.ok && loaded.meta.sourceSchemaVersion, 2);
});

t.test('a syntax error stops the pipeline with its line and column', async (t) => {
  t.same(loadPolicyText('{\n  "schemaVersion": 2\n  "users": []\n}', options), {
    ok: false,
    stage: 'syntax',
    errorCount: 1,
    errors: [{ pointer: '', message: "unexpected character '\"'; expected ',' or '}' after an object member", line: 3, column: 3 }],
    warnings: [],
  });
});

t.test('warnings of every stage are kept when there are errors too', async (t) => {
  const loaded = loadPolicyText('{"schemaVersion": 3, "colour": "red",}', options);
  t.same(loaded, {
    ok: false,
    stage: 'validation',
    errorCount: 1,
    errors: [{ pointer: '/schemaVersion', message: 'found policy with schema version (3) that we do not support (supported: 1, 2)' }],
    warnings: [
      { pointer: '', message: "trailing comma before '}' ignored (not valid JSON)", line: 1, column: 37 },
      { pointer: '/colour', message: 'unknown key `colour` ignored' },
    ],
  });
});

t.test('JSON that is not an object is no policy at all: a syntax-stage refusal, warnings kept', async (t) => {
  for (const text of ['[]', '"hello"', 'null', '[1,]']) {
    t.match(loadPolicyText(text, options), { ok: false, stage: 'syntax', errors: [{ pointer: '', message: 'the policy must be a JSON object' }], errorCount: 1 }, text);
  }
  t.match(loadPolicyText('[1,]', options), { warnings: [{ message: "trailing comma before ']' ignored (not valid JSON)" }] });
});

t.test('every error is counted, also past the listed ones; the Corporal.UserID warning is among the bounded warnings', async (t) => {
  const rooms = Array.from({ length: 5000 }, (_, index) => index);
  const loaded = loadPolicyText(JSON.stringify({ schemaVersion: 2, users: [{ id: '@corporal:example.com', authType: 'plain', authCredential: 'p' }], managedRoomIds: rooms }), { ...options, corporalUserId: '@corporal:example.com' });
  t.equal(loaded.ok, false);
  if (loaded.ok) return;
  t.equal(loaded.errorCount, 5000);
  t.equal(loaded.errors.length, 1001);
  t.same(loaded.errors.at(-1), { pointer: '', message: '… and 4000 more errors' });
  t.match(loaded.warnings, [{ pointer: '/users/0', message: /is Corporal\.UserID/ }]);
});

t.test('loadPolicyValue takes parsed JSON (an API push) the same way', async (t) => {
  const text = readPolicyFixtureText('base-policy.json');
  const fromText = loadPolicyText(text, options);
  const fromValue = loadPolicyValue(JSON.parse(text), options);
  t.same(fromValue, fromText);
  t.equal(fromValue.ok, true);
});

t.test('a policy for another homeserver domain is refused for every user', async (t) => {
  const loaded = loadPolicyText(readPolicyFixtureText('base-policy.json'), { homeserverDomain: 'example.org' });
  t.same(loaded.ok ? [] : loaded.errors.map((e) => e.pointer), ['/users/0/id', '/users/1/id']);
});

t.test('a key repeated around a case variant decides the field as in matrix-corporal (Go, last in document order)', async (t) => {
  const user = (active: string) =>
    `{"schemaVersion": 2, "users": [{"id": "@dave:example.com", "authType": "plain", "authCredential": "p", ${active}}]}`;
  for (const [members, expected] of [
    ['"active": false, "Active": true, "active": false', false],
    ['"active": true, "Active": false, "active": true', true],
    ['"active": true, "Active": false, "active": null', false],
    ['"Active": false, "active": true, "active": null', true],
  ] as const) {
    const loaded = loadPolicyText(user(members), options);
    t.equal(loaded.ok && loaded.document.users[0]?.active, expected, members);
  }
});
