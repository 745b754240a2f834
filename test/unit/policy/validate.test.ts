import t from 'tap';
import type { PolicyIssue } from '../../../src/policy/issues.js';
import { loadPolicyValue } from '../../../src/policy/load.js';
import { MAX_HOOK_REGEX_LENGTH } from '../../../src/policy/validate-hooks.js';
import { validatePolicy } from '../../../src/policy/validate.js';
import { MAX_FREE_JSON_DEPTH, jsonDepthExceeds } from '../../../src/policy/validate-hooks.js';
import { patched, readPolicyFixture } from '../../fixtures/policy/fixture-files.js';

interface Row {
  name: string;
  set?: Record<string, unknown>;
  remove?: string[];
  errors: PolicyIssue[];
  warnings?: PolicyIssue[];
}

const base = readPolicyFixture<unknown>('base-policy.json');
const { rows } = readPolicyFixture<{ rows: Row[] }>('validation.json');
const plain = (issues: PolicyIssue[]): PolicyIssue[] => issues.map(({ pointer, message }) => ({ pointer, message }));

for (const row of rows) {
  t.test(row.name, async (t) => {
    const result = loadPolicyValue(patched(base, row.set, row.remove), { homeserverDomain: 'example.com' });
    t.same(plain(result.ok ? [] : result.errors), row.errors, 'errors');
    t.equal(result.ok, row.errors.length === 0, 'ok');
    if (row.warnings !== undefined) t.same(plain(result.warnings), row.warnings, 'warnings');
  });
}

t.test('validatePolicy never throws on arbitrary JSON and reports the top-level type', async (t) => {
  for (const value of [null, 7, 'policy', [], { users: [null, 1, 'x'], hooks: [[]], flags: [] }]) {
    const findings = validatePolicy(value, { homeserverDomain: 'example.com' });
    t.ok(findings.errors.length > 0, JSON.stringify(value));
  }
});

t.test('more than 1000 errors are cut, with a count of the rest', async (t) => {
  const users = Array.from({ length: 1200 }, (_, i) => ({ id: `@u${i}:other.org`, authType: 'plain' }));
  const result = loadPolicyValue({ schemaVersion: 2, users }, { homeserverDomain: 'example.com' });
  t.equal(result.ok, false);
  const errors = result.ok ? [] : result.errors;
  t.equal(errors.length, 1001);
  t.same(errors[1000], { pointer: '', message: '… and 200 more errors' });
});

t.test('free JSON may nest 64 levels of arrays or objects, not 65', async (t) => {
  const nested = (levels: number, wrap: (inner: unknown) => unknown): unknown => {
    let value: unknown = 'leaf';
    for (let level = 0; level < levels; level += 1) value = wrap(value);
    return value;
  };
  for (const [kind, wrap] of [['arrays', (inner: unknown) => [0, inner]], ['objects', (inner: unknown) => ({ a: 0, b: inner })]] as const) {
    t.equal(jsonDepthExceeds(nested(MAX_FREE_JSON_DEPTH, wrap), MAX_FREE_JSON_DEPTH), false, `${kind}: 64 levels`);
    t.equal(jsonDepthExceeds(nested(MAX_FREE_JSON_DEPTH + 1, wrap), MAX_FREE_JSON_DEPTH), true, `${kind}: 65 levels`);
  }
  t.equal(jsonDepthExceeds('text', 0), false, 'a scalar has no depth');
});

t.test('verification round 13b: a match-rule regex over the length bound is refused before translation, without quoting it', async (t) => {
  const policy = (regex: string) => ({
    schemaVersion: 2,
    users: [],
    hooks: [{ id: 'h', eventType: 'beforeAnyRequest', matchRules: [{ type: 'route', regex }], action: 'reject', rejectionErrorCode: 'M_FORBIDDEN', rejectionErrorMessage: 'no' }],
  });
  t.equal(loadPolicyValue(policy(`^${'a'.repeat(MAX_HOOK_REGEX_LENGTH - 1)}`), { homeserverDomain: 'example.com' }).ok, true, 'at the bound');
  const long = loadPolicyValue(policy(`(?m)${'$'.repeat(MAX_HOOK_REGEX_LENGTH)}`), { homeserverDomain: 'example.com' });
  t.same(long.ok ? [] : long.errors, [{ pointer: '/hooks/0/matchRules/0/regex', message: `regex of ${MAX_HOOK_REGEX_LENGTH + 4} characters: longer than ${MAX_HOOK_REGEX_LENGTH}` }]);
});
