import { Ajv, type ErrorObject, type SchemaObject } from 'ajv';
import { describeJsonKind, subjectOf, typeMismatchMessage, type ConfigIssue } from './issues.js';
import { CONFIG_SHAPE, type FieldShape } from './shape.js';
import { describeJsonType as describeType } from '../json-type-names.js';

/** JSON Schema of the decoded document, generated from {@link CONFIG_SHAPE}. */
function schemaOf(shape: FieldShape): SchemaObject {
  switch (shape.kind) {
    case 'struct': {
      const properties: Record<string, SchemaObject> = {};
      for (const [name, field] of Object.entries(shape.fields)) properties[name] = schemaOf(field);
      return { type: 'object', properties, additionalProperties: false };
    }
    case 'map': return { type: ['object', 'null'] };
    case 'string-list': return { type: ['array', 'null'], items: { type: 'string' } };
    default: return { type: shape.nullable ? [shape.kind, 'null'] : shape.kind };
  }
}

// Compiled once from constant input (house rule 2 allows this at module scope).
const validate = new Ajv({ allErrors: true, allowUnionTypes: true, verbose: true, strict: true })
  .compile(schemaOf(CONFIG_SHAPE));

/** Result of {@link checkConfigTypes}. */
export interface TypeCheckResult {
  errors: ConfigIssue[];
  /** The document without the offending values; it conforms to the schema. */
  value: Record<string, unknown>;
  /** Canonical paths of the values that were removed because of an error. */
  removedPaths: string[];
}

/**
 * Checks the JSON type of every known value of a decoded document (see decode.ts) and reports each
 * mismatch with its path and the expected type. Each offending value is then removed (a whole
 * list when one of its items is wrong, everything when the document is not an object), so that
 * the rest can be defaulted and checked; like Go, a field that failed to decode keeps its zero value.
 */
export function checkConfigTypes(decoded: unknown): TypeCheckResult {
  if (validate(decoded)) return { errors: [], value: decoded as Record<string, unknown>, removedPaths: [] };
  const errors: ConfigIssue[] = [];
  const removed: string[][] = [];
  for (const error of validate.errors ?? []) {
    const segments = pointerSegments(error.instancePath);
    errors.push({ path: issuePath(segments), message: messageOf(error, issuePath(segments)) });
    removed.push(removalTarget(decoded, segments));
  }
  if (removed.some((segments) => segments.length === 0)) return { errors, value: {}, removedPaths: [''] };
  const value = decoded as Record<string, unknown>;
  for (const segments of removed) removeAt(value, segments);
  return { errors, value, removedPaths: removed.map(issuePath) };
}

function messageOf(error: ErrorObject, path: string): string {
  if (error.keyword === 'type') {
    const expected = ([] as string[]).concat(error.params['type'] as string | string[]);
    return typeMismatchMessage(path, expected.map(describeType).join(' or '), describeJsonKind(error.data));
  }
  return `${subjectOf(path)} ${error.message ?? 'is invalid'}`;
}


function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer.slice(1).split('/').map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** `HttpGateway/InternalRESTAuth/IPNetworkWhitelist/2` → `HttpGateway.InternalRESTAuth.IPNetworkWhitelist[2]`. */
function issuePath(segments: readonly string[]): string {
  let out = '';
  for (const segment of segments) {
    if (/^\d+$/.test(segment) && out !== '') out += `[${segment}]`;
    else out = out === '' ? segment : `${out}.${segment}`;
  }
  return out;
}

/** The segments of the value to remove: the error's own value, or the list that contains it. */
function removalTarget(root: unknown, segments: readonly string[]): string[] {
  let current = root;
  for (let i = 0; i < segments.length; i += 1) {
    if (Array.isArray(current)) return segments.slice(0, i);
    current = (current as Record<string, unknown> | undefined)?.[segments[i]!];
  }
  return [...segments];
}

function removeAt(root: Record<string, unknown>, segments: readonly string[]): void {
  let parent: unknown = root;
  for (const segment of segments.slice(0, -1)) parent = (parent as Record<string, unknown> | undefined)?.[segment];
  if (typeof parent === 'object' && parent !== null) delete (parent as Record<string, unknown>)[segments.at(-1)!];
}
