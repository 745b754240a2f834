import t from 'tap';
import type { PolicyIssue } from '../../../src/policy/issues.js';
import { normalisePolicy, sourcePointer } from '../../../src/policy/normalise.js';
import { readPolicyFixture } from '../../fixtures/policy/fixture-files.js';

interface Row {
  name: string;
  input: unknown;
  sourceSchemaVersion: 1 | 2 | null;
  document: unknown;
  errors: PolicyIssue[];
  warnings: PolicyIssue[];
  shorthandRules?: Record<string, string>;
}

for (const row of readPolicyFixture<{ rows: Row[] }>('normalisation.json').rows) {
  t.test(row.name, async (t) => {
    const inputCopy = structuredClone(row.input);
    const result = normalisePolicy(row.input);
    t.same(result.document, row.document, 'document');
    t.same(result.errors, row.errors, 'errors');
    t.same(result.warnings, row.warnings, 'warnings');
    t.equal(result.meta.sourceSchemaVersion, row.sourceSchemaVersion, 'source schema version');
    t.same(Object.fromEntries(result.meta.shorthandRules), row.shorthandRules ?? {}, 'shorthand rules');
    t.same(row.input, inputCopy, 'the input is not modified');
  });
}

t.test('values of the wrong type stay in place for validation to report', async (t) => {
  const { document } = normalisePolicy({ schemaVersion: 2, users: 'nobody', hooks: [7], flags: [], managedRoomIds: {} });
  t.same(document.users, 'nobody');
  t.same(document.hooks, [7]);
  t.same(document.flags, []);
  t.same(document.managedRoomIds, {});
});

t.test('sourcePointer maps synthesised nodes back to what the author wrote', async (t) => {
  const schema1 = normalisePolicy({ schemaVersion: 1, users: [{ id: '@a:x', joinedRoomIds: ['!a:x'] }] }).meta;
  t.equal(sourcePointer(schema1, '/users/0/joinedRooms/0/roomId'), '/users/0/joinedRoomIds/0');
  t.equal(sourcePointer(schema1, '/users/0/joinedRooms/0'), '/users/0/joinedRoomIds/0');
  t.equal(sourcePointer(schema1, '/users/0/joinedRooms'), '/users/0/joinedRoomIds');
  t.equal(sourcePointer(schema1, '/users/0/id'), '/users/0/id');
  const schema2 = normalisePolicy({ schemaVersion: 2, users: [{ id: '@a:x', joinedRooms: [] }], hooks: [{ routeMatchesRegex: 'x' }] }).meta;
  t.equal(sourcePointer(schema2, '/users/0/joinedRooms/0/roomId'), '/users/0/joinedRooms/0/roomId');
  t.equal(sourcePointer(schema2, '/hooks/0/matchRules/0/regex'), '/hooks/0/routeMatchesRegex');
  t.equal(sourcePointer(schema2, '/hooks/0/matchRules/0'), '/hooks/0/routeMatchesRegex');
  t.equal(sourcePointer(schema2, '/hooks/0/id'), '/hooks/0/id');
});

t.test('an object of many keys for one field is read with its keys listed a bounded number of times', async (t) => {
  // Every case variant of a field sets it again. Looking for the earlier key at each repeat listed
  // the object's keys once per repeat: quadratic (2^14 variants of authCredential fit in 300 KiB).
  const variants = Array.from({ length: 40 }, (_, n) => [...'authCredential'].map((c, i) => ((n >> i) & 1 ? c.toUpperCase() : c.toLowerCase())).join(''));
  let listings = 0;
  const user = new Proxy(Object.fromEntries(variants.map((key) => [key, 'x'])), {
    ownKeys(target) {
      listings += 1;
      return Reflect.ownKeys(target);
    },
  });
  const { warnings } = normalisePolicy({ schemaVersion: 2, users: [user] });
  t.equal(warnings.length, 39);
  t.same(warnings[38], { pointer: `/users/0/${variants[39]}`, message: `\`${variants[39]}\` sets the same field as \`authcredential\` earlier in this object; the later value wins` });
  t.ok(listings <= 2, `keys listed ${listings} times`);
});
