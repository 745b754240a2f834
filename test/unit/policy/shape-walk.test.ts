import { Ajv, type SchemaObject } from 'ajv';
import t from 'tap';
import type { PolicyIssue } from '../../../src/policy/issues.js';
import { POLICY_SCHEMA, checkPolicyShape, shapeMessage } from '../../../src/policy/schema.js';
import { ShapeCompiler } from '../../../src/policy/shape-walk.js';
import { WELL_FORMED_KEYWORD } from '../../../src/policy/well-formed.js';

// What checkPolicyShape reported before the walk: ajv alone, every error at once.
const reference = new Ajv({ allErrors: true, verbose: true, allowUnionTypes: true, strict: true }).addKeyword(WELL_FORMED_KEYWORD).compile(POLICY_SCHEMA);
const defs = POLICY_SCHEMA['$defs'] as Record<string, SchemaObject>;

function referenceIssues(document: unknown): PolicyIssue[] {
  if (reference(document)) return [];
  return (reference.errors ?? []).map((error) => ({ pointer: error.instancePath, message: shapeMessage(error, error.data) }));
}

function walkedIssues(document: unknown): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  checkPolicyShape(document, issues);
  return issues;
}

/** A valid value for `schema` that sets every property, with two elements in every array and map. */
function sample(schema: SchemaObject, depth: number): unknown {
  if (typeof schema['$ref'] === 'string') return depth > 2 ? undefined : sample(defs[schema['$ref'].slice('#/$defs/'.length)] ?? {}, depth + 1);
  const type = ([] as unknown[]).concat(schema['type'])[0];
  if (type === 'string') return 's';
  if (type === 'boolean') return true;
  if (type === 'integer') return (schema['minimum'] as number | undefined) ?? 7;
  if (type === 'array') return [sample(schema['items'] as SchemaObject, depth), sample(schema['items'] as SchemaObject, depth)];
  if (schema['additionalProperties'] !== undefined) {
    return { a: sample(schema['additionalProperties'] as SchemaObject, depth), 'b/~': sample(schema['additionalProperties'] as SchemaObject, depth) };
  }
  if (schema['properties'] !== undefined) {
    const entries = Object.entries(schema['properties'] as Record<string, SchemaObject>).map(([name, child]) => [name, sample(child, depth)]);
    return Object.fromEntries(entries.filter(([, value]) => value !== undefined));
  }
  return { free: [1, 's'] };
}

/** Every path to a value in `value` (arrays by index, objects by key). */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const here = [prefix];
  if (Array.isArray(value)) return here.concat(...value.map((item, index) => paths(item, [...prefix, index])));
  if (typeof value === 'object' && value !== null) return here.concat(...Object.entries(value).map(([key, item]) => paths(item, [...prefix, key])));
  return here;
}

function replaced(document: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(document) as Record<string | number, unknown>;
  let parent = copy;
  for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, unknown>;
  parent[path[path.length - 1] as string | number] = value;
  return copy;
}

const WRONG = [null, true, 0, -1, 1.5, 3e9, 's', 'Al\ud800ice', [], [1, 's', null], {}, { k: 1, id: 2 }];

t.test('the walk reports what ajv alone reported, in the same order', async (t) => {
  const full = sample(POLICY_SCHEMA, 0);
  t.same(walkedIssues(full), [], 'the sample is valid');
  const mismatches: unknown[] = [];
  let cases = 0;
  const compare = (document: unknown): void => {
    cases += 1;
    const expected = referenceIssues(document);
    const actual = walkedIssues(document);
    if (JSON.stringify(actual) !== JSON.stringify(expected)) mismatches.push({ document, expected, actual });
  };
  const allPaths = paths(full);
  for (const path of allPaths) for (const wrong of WRONG) compare(replaced(full, path, wrong));
  // Several mismatches at once, in different branches: the order across them matters too.
  let seed = 11;
  const random = (below: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % below;
  };
  for (let round = 0; round < 400; round += 1) {
    let document = full;
    for (let change = 0, changes = 2 + random(5); change < changes; change += 1) {
      const candidates = paths(document);
      document = replaced(document, candidates[random(candidates.length)] ?? [], WRONG[random(WRONG.length)]);
    }
    compare(document);
  }
  t.ok(cases > 2000, `${cases} documents compared`);
  t.same(mismatches.slice(0, 3), [], 'no document is reported differently');
});

t.test('a schema keyword the walk does not descend is refused when compiled', async (t) => {
  const shapes = new ShapeCompiler(shapeMessage);
  t.throws(() => shapes.compile({ type: 'object', properties: { a: { anyOf: [{ type: 'string' }] } } }), /does not support the schema keyword anyOf/);
  t.throws(() => shapes.compile({ type: 'array', items: { type: 'string', pattern: 'x' } }), /keyword pattern/);
  t.throws(() => shapes.compile({ type: 'object', properties: {}, additionalProperties: { type: 'string' } }), /properties with additionalProperties/);
  t.throws(() => shapes.compile({ $defs: { a: { type: 'string' } }, $ref: '#/$defs/a', type: 'string' }), /lone \$ref/);
});
