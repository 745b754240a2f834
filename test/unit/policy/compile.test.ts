import t from 'tap';
import { compilePolicy } from '../../../src/policy/compile.js';
import { matchRuleRegExp } from '../../../src/policy/compile-hook.js';
import { hashPolicy } from '../../../src/policy/hash.js';
import { loadPolicyText, loadPolicyValue } from '../../../src/policy/load.js';
import type { PolicySnapshot, SnapshotHook } from '../../../src/policy/snapshot.js';
import type { PolicyDocument } from '../../../src/policy/types.js';
import { readPolicyFixture, readPolicyFixtureText } from '../../fixtures/policy/fixture-files.js';
import { snapshotToJson } from '../../fixtures/policy/snapshot-json.js';

// A verbatim copy of /work/shared/examples/policy-from-readme.json (matrix-corporal's README example).
const README = readPolicyFixtureText('readme-policy.json');

function documentOf(text: string): PolicyDocument {
  const loaded = loadPolicyText(text, { homeserverDomain: 'example.com' });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return loaded.document;
}

function compile(document: PolicyDocument): PolicySnapshot {
  return compilePolicy(document, { generation: 7, hash: hashPolicy(document), loadedAt: 1_700_000_000_000, source: 'static_file:/etc/policy.json' });
}

t.test("matrix-corporal's README example loads: one trailing-comma warning, schema 1 users, shorthand hooks as match rules", async (t) => {
  const loaded = loadPolicyText(README, { homeserverDomain: 'example.com' });
  t.ok(loaded.ok);
  t.same(loaded.warnings, [{ pointer: '/managedRoomIds', message: "trailing comma before ']' ignored (not valid JSON)", line: 11, column: 23 }]);
  t.equal(loaded.ok && loaded.meta.sourceSchemaVersion, 1);
  t.same(snapshotToJson(compile(documentOf(README))), readPolicyFixture('readme-snapshot.json'));
});

t.test('the README ban hook matches what it says, and only that', async (t) => {
  const [hook] = compile(documentOf(README)).hooks.beforeAnyRequest;
  const [route, method] = (hook?.matchRules ?? []).map(matchRuleRegExp);
  t.ok(route?.test('/_matrix/client/r0/rooms/!a:example.com/ban'));
  t.notOk(route?.test('/_matrix/client/r0/rooms/!a:example.com/kick'));
  t.ok(method?.test('POST'));
  t.notOk(method?.test('GET'));
});

t.test('base policy: hooks grouped by event type in policy order, defaults resolved', async (t) => {
  const snapshot = compile(documentOf(readPolicyFixtureText('base-policy.json')));
  const ids = Object.fromEntries(Object.entries(snapshot.hooks).map(([type, hooks]) => [type, hooks.map((h: SnapshotHook) => h.id)]));
  t.same(ids, {
    beforeAnyRequest: ['reject-bans'],
    beforeAuthenticatedRequest: ['respond-hello'],
    beforeAuthenticatedPolicyCheckedRequest: ['tag-requests'],
    beforeUnauthenticatedRequest: [],
    afterAnyRequest: ['ask-service'],
    afterAuthenticatedRequest: ['tag-responses'],
    afterAuthenticatedPolicyCheckedRequest: [],
    afterUnauthenticatedRequest: ['let-through'],
  });
  t.same(snapshot.hooks.beforeAnyRequest[0]?.matchRules[1], { type: 'method', regex: '(?i)^post$', source: '^[Pp][Oo][Ss\\u017f][Tt]$', flags: '', invert: false });
  t.same(snapshot.hooks.beforeAuthenticatedRequest[0], {
    id: 'respond-hello',
    eventType: 'beforeAuthenticatedRequest',
    matchRules: [{ type: 'route', regex: '^/hello$', source: '^\\/hello$', flags: '', invert: false }],
    skipNextHooksInChain: false,
    action: 'respond',
    responseStatusCode: 200,
    responseContentType: 'application/json',
    responseBody: '{"hello":"world"}',
  });
  t.same(snapshot.hooks.beforeAuthenticatedPolicyCheckedRequest[0], {
    id: 'tag-requests',
    eventType: 'beforeAuthenticatedPolicyCheckedRequest',
    matchRules: [],
    skipNextHooksInChain: false,
    action: 'pass.modifiedRequest',
    injectJSONIntoRequest: { tagged: true },
    injectHeadersIntoRequest: { 'X-Tagged': 'yes' },
  });
  t.same(snapshot.hooks.afterAuthenticatedRequest[0], {
    id: 'tag-responses',
    eventType: 'afterAuthenticatedRequest',
    matchRules: [{ type: 'matrixUserID', regex: '^@admin:', source: '^@admin:', flags: '', invert: true }],
    skipNextHooksInChain: false,
    action: 'pass.modifiedResponse',
    injectJSONIntoResponse: { tagged: true },
    injectHeadersIntoResponse: {},
  });
  t.same(snapshot.hooks.afterAnyRequest[0], {
    id: 'ask-service',
    eventType: 'afterAnyRequest',
    matchRules: [],
    skipNextHooksInChain: false,
    action: 'consult.RESTServiceURL',
    RESTServiceURL: 'https://hooks.example.com/consult',
    RESTServiceRequestMethod: 'POST',
    RESTServiceRequestHeaders: {},
    RESTServiceRequestTimeoutMilliseconds: 30_000,
    RESTServiceRetryAttempts: 2,
    RESTServiceRetryWaitTimeMilliseconds: 0,
    RESTServiceAsync: false,
    RESTServiceAsyncResultHook: { id: 'ask-service-unnamed-response', eventType: null, matchRules: [], skipNextHooksInChain: false, action: 'pass.unmodified' },
    RESTServiceContingencyHook: {
      id: 'ask-service-unnamed-response',
      eventType: null,
      matchRules: [],
      skipNextHooksInChain: false,
      action: 'reject',
      responseStatusCode: 503,
      rejectionErrorCode: 'M_UNKNOWN',
      rejectionErrorMessage: 'Hook service unavailable',
    },
  });
  t.same(snapshot.hooks.afterUnauthenticatedRequest[0], {
    id: 'let-through', eventType: 'afterUnauthenticatedRequest', matchRules: [], skipNextHooksInChain: true, action: 'pass.unmodified',
  });
});

t.test('base policy: users, rooms, flags and the lower-case login index', async (t) => {
  const snapshot = compile(documentOf(readPolicyFixtureText('base-policy.json')));
  t.same(snapshot.flags.forbidEncryptedRoomCreation, true);
  t.same([...snapshot.managedRoomIds], ['!roomA:example.com', '!roomB:example.com']);
  t.same([...(snapshot.users.get('@alice:example.com')?.joinedRooms ?? [])], [['!roomA:example.com', 50], ['!roomB:example.com', 0]]);
  t.equal(snapshot.users.get('@alice:example.com')?.powerLevelsManaged, true);
  t.equal(snapshot.users.get('@bob:example.com')?.forbidRoomCreation, true);
  t.equal(snapshot.users.get('@bob:example.com')?.forbidEncryptedRoomCreation, null);
  t.equal(snapshot.userIdsByLowercase.get('@bob:example.com'), '@bob:example.com');
  t.equal(snapshot.generation, 7);
  t.equal(snapshot.source, 'static_file:/etc/policy.json');
});

t.test('respond bodies: strings are sent as they are when not JSON-serialised; absent payload is null', async (t) => {
  const respond = (extra: Record<string, unknown>): SnapshotHook | undefined => {
    const loaded = loadPolicyValue({ schemaVersion: 2, hooks: [{ id: 'r', eventType: 'beforeAnyRequest', action: 'respond', responseStatusCode: 418, ...extra }] }, { homeserverDomain: 'example.com' });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    return compile(loaded.document).hooks.beforeAnyRequest[0];
  };
  t.match(respond({}), { responseBody: 'null', responseContentType: 'application/json', responseStatusCode: 418 });
  t.match(respond({ responsePayload: 'a "string"' }), { responseBody: '"a \\"string\\""' });
  t.match(respond({ responsePayload: '{"raw":1}', responseSkipPayloadJSONSerialization: true }), { responseBody: '{"raw":1}' });
  t.match(respond({ responsePayload: '<p>hi</p>', responseContentType: 'text/html' }), { responseBody: '<p>hi</p>', responseContentType: 'text/html' });
});

t.test('the snapshot is plain data: it survives structured clone unchanged', async (t) => {
  const snapshot = compile(documentOf(readPolicyFixtureText('base-policy.json')));
  t.same(snapshotToJson(structuredClone(snapshot)), snapshotToJson(snapshot));
});

t.test("red team 11 F1: an entry for Corporal.UserID (in any case) is left out of the snapshot, with a warning", async (t) => {
  for (const listedAs of ['@corporal:example.com', '@Corporal:example.com']) {
    const text = JSON.stringify({
      schemaVersion: 2,
      users: [
        { id: '@alice:example.com', active: true, authType: 'plain', authCredential: 'a' },
        { id: listedAs, active: true, authType: 'plain', authCredential: 'guessme' },
      ],
    });
    const document = documentOf(text);
    const snapshot = compilePolicy(document, { generation: 1, hash: hashPolicy(document), loadedAt: 0, source: 'api', corporalUserId: '@corporal:example.com' });
    t.same([...snapshot.users.keys()], ['@alice:example.com'], listedAs);
    t.same([...snapshot.userIdsByLowercase.keys()], ['@alice:example.com'], 'login cannot find it either');
    const loaded = loadPolicyText(text, { homeserverDomain: 'example.com', corporalUserId: '@corporal:example.com' });
    const aboutCorporal = (result: typeof loaded) => (result.ok ? result.warnings : []).filter((warning) => warning.message.includes('Corporal.UserID'));
    t.same(aboutCorporal(loaded), [{ pointer: '/users/1', message: `${listedAs} is Corporal.UserID: Corporal never manages its own account, so this entry is ignored (its credential logs nobody in)` }]);
    t.same(aboutCorporal(loadPolicyText(text, { homeserverDomain: 'example.com', corporalUserId: '@nobody:example.com' })), []);
    t.equal(compile(document).users.size, 2, 'without the option (a file checked with no config) nothing is left out');
  }
});

t.test('parity review 25: identical repeats (a user entry, a schema-1 room) load, and the snapshot holds each once', async (t) => {
  const bob = { id: '@bob:example.com', active: true, authType: 'sha256', authCredential: '', joinedRoomIds: ['!a:example.com', '!a:example.com'] };
  const text = JSON.stringify({
    schemaVersion: 1,
    managedRoomIds: ['!a:example.com'],
    users: [bob, { id: '@carol:example.com', active: true, authType: 'plain', authCredential: 'c', joinedRoomIds: [] }, bob],
  });
  const loaded = loadPolicyText(text, { homeserverDomain: 'example.com' });
  t.ok(loaded.ok, 'matrix-corporal 2.x loaded this policy; so does Corporal');
  t.same((loaded.ok ? loaded.warnings : []).map((warning) => warning.pointer), [
    '/users/0/authCredential', '/users/0/joinedRoomIds/1', '/users/2/id', '/users/2/authCredential', '/users/2/joinedRoomIds/1',
  ]);
  const snapshot = compile(documentOf(text));
  t.same([...snapshot.users.keys()], ['@bob:example.com', '@carol:example.com']);
  t.same([...snapshot.users.get('@bob:example.com')!.joinedRooms], [['!a:example.com', 0]]);
});
