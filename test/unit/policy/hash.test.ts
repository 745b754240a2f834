import t from 'tap';
import { hashPolicy } from '../../../src/policy/hash.js';
import { loadPolicyValue } from '../../../src/policy/load.js';
import type { PolicyDocument } from '../../../src/policy/types.js';
import { patched, readPolicyFixture } from '../../fixtures/policy/fixture-files.js';

const base = readPolicyFixture<Record<string, unknown>>('base-policy.json');

function hashOf(policy: unknown): string {
  const loaded = loadPolicyValue(policy, { homeserverDomain: 'example.com' });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return hashPolicy(loaded.document);
}

/** A deep copy with the keys of every object in reverse order. */
function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversedKeys(v)]));
}

t.test('the hash is sha256 hex', async (t) => {
  t.match(hashOf(base), /^[0-9a-f]{64}$/);
});

t.test('same content, same hash: key order, key spelling and explicit defaults do not matter', async (t) => {
  const reference = hashOf(base);
  t.equal(hashOf(reversedKeys(base)), reference, 'reversed key order everywhere');
  const respelt = structuredClone(base);
  respelt['SCHEMAVERSION'] = respelt['schemaVersion'];
  delete respelt['schemaVersion'];
  t.equal(hashOf(respelt), reference, 'key spelling');
  t.equal(hashOf(patched(base, { '/flags/allow3pidLogin': false, '/users/0/forbidRoomCreation': null, '/hooks/0/skipNextHooksInChain': false })), reference, 'explicit defaults');
});

t.test('the hash of a document is independent of its own key order', async (t) => {
  const loaded = loadPolicyValue(base, { homeserverDomain: 'example.com' });
  if (!loaded.ok) throw new Error('base policy invalid');
  t.equal(hashPolicy(reversedKeys(loaded.document) as PolicyDocument), hashPolicy(loaded.document));
});

t.test('any change of content changes the hash', async (t) => {
  const reference = hashOf(base);
  const changes: Record<string, unknown>[] = [
    { '/identificationStamp': 'base-2' },
    { '/flags/allow3pidLogin': true },
    { '/managedRoomIds/-': '!roomC:example.com' },
    { '/users/0/displayName': 'Alice B.' },
    { '/users/0/joinedRooms/0/powerLevel': 51 },
    { '/users/1/forbidRoomCreation': false },
    { '/hooks/0/matchRules/1/invert': true },
    { '/hooks/1/responsePayload': { hello: 'there' } },
    { '/hooks/2/injectHeadersIntoRequest/X-Tagged': 'no' },
  ];
  for (const set of changes) t.not(hashOf(patched(base, set)), reference, JSON.stringify(set));
  t.not(hashOf(patched(base, {}, ['/hooks/5'])), reference, 'a hook removed');
});

t.test('a schema 1 user differs from the same user in schema 2 (power levels are not managed)', async (t) => {
  const user = { id: '@a:example.com', authType: 'plain', authCredential: 'x' };
  const schema1 = { schemaVersion: 1, users: [{ ...user, joinedRoomIds: ['!a:example.com'] }] };
  const schema2 = { schemaVersion: 2, users: [{ ...user, joinedRooms: [{ roomId: '!a:example.com' }] }] };
  t.not(hashOf(schema1), hashOf(schema2));
});
