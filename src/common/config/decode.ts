import { joinPath, typeMismatchMessage, type ConfigIssue } from './issues.js';
import { foldKey } from '../key-fold.js';
import { isIntegerLiteral, plainValueOf, setOwn, type JsonNode } from './json-tree.js';
import { CONFIG_SHAPE, type FieldShape, type StructShape } from './shape.js';

/**
 * Result of {@link decodeConfigTree}: `value` is the document with canonical key spelling, ready for
 * the type schema (a value of the wrong JSON type is passed through for the schema to report).
 * `errors` holds the integer-literal mismatches only the source text reveals.
 */
export interface DecodeResult {
  value: unknown;
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
}

/**
 * Binds a parsed document to the configuration's keys the way Go's `encoding/json` binds it to
 * matrix-corporal's structs:
 * - a key matches a field with the same name exactly, else case-insensitively ({@link foldKey});
 * - keys are applied in document order, so when several keys reach one field the last one wins,
 *   and a repeated object is merged into the earlier one (Go decodes into the existing struct/map);
 * - `null` leaves a plain field unchanged and resets a nullable one;
 * - an unknown key is ignored (reported as a warning), and so is every key of an unknown section;
 * - `PolicyProvider` is a raw map: its keys are kept exactly as written.
 */
export function decodeConfigTree(node: JsonNode): DecodeResult {
  const result: DecodeResult = { value: undefined, errors: [], warnings: [] };
  const root = { value: undefined as unknown };
  bindField(root, 'value', CONFIG_SHAPE, node, '', result);
  // A `null` document decodes to all zero values in Go.
  result.value = root.value ?? {};
  return result;
}

function bindStruct(node: Extract<JsonNode, { kind: 'object' }>, shape: StructShape,
  target: Record<string, unknown>, path: string, result: DecodeResult): void {
  const keyOfField = new Map<string, string>();
  for (const { key, value } of node.entries) {
    const name = Object.hasOwn(shape.fields, key) ? key : shape.byFoldedName.get(foldKey(key));
    if (name === undefined) {
      result.warnings.push({ path: joinPath(path, key), message: `${joinPath(path, key)} is not a known configuration key; it is ignored` });
      continue;
    }
    const fieldPath = joinPath(path, name);
    const field = shape.fields[name]!;
    const earlierKey = keyOfField.get(name);
    if (earlierKey !== undefined) {
      const outcome = field.kind === 'struct' || field.kind === 'map'
        ? 'the objects are merged and, where both set a key, the later one wins'
        : 'the later one wins';
      result.warnings.push({ path: fieldPath, message: `${fieldPath} is given more than once ("${earlierKey}", then "${key}"); ${outcome}` });
    }
    keyOfField.set(name, key);
    if ('ignoredBecause' in field) {
      result.warnings.push({ path: fieldPath, message: `${fieldPath} is ignored: ${field.ignoredBecause}` });
    }
    bindField(target, name, field, value, fieldPath, result);
  }
}

function bindField(target: Record<string, unknown>, name: string, shape: FieldShape, node: JsonNode,
  path: string, result: DecodeResult): void {
  if (node.kind === 'null') {
    if (isNullable(shape)) target[name] = null;
    return;
  }
  if (shape.kind === 'struct' && node.kind === 'object') {
    bindStruct(node, shape, objectAt(target, name), path, result);
    return;
  }
  if (shape.kind === 'map' && node.kind === 'object') {
    const map = objectAt(target, name);
    for (const entry of node.entries) setOwn(map, entry.key, plainValueOf(entry.value));
    return;
  }
  if (shape.kind === 'integer' && node.kind === 'number' && !isIntegerLiteral(node.raw)) {
    // Go reads an int field with strconv.ParseInt on the literal: `1.5`, `1.0` and `1e3` all fail.
    // Like Go, the field keeps its earlier value.
    result.errors.push({ path, message: typeMismatchMessage(path, 'an integer', 'a number with a fraction or an exponent') });
    return;
  }
  target[name] = plainValueOf(node);
}

function isNullable(shape: FieldShape): boolean {
  switch (shape.kind) {
    case 'struct': return false;
    case 'map':
    case 'string-list': return true;
    default: return shape.nullable;
  }
}

/** The object held at `target[name]`, created (replacing any non-object) when there is none. */
function objectAt(target: Record<string, unknown>, name: string): Record<string, unknown> {
  const existing = target[name];
  if (typeof existing === 'object' && existing !== null && !Array.isArray(existing)) return existing as Record<string, unknown>;
  const created: Record<string, unknown> = {};
  target[name] = created;
  return created;
}
