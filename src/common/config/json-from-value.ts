import { joinPath, subjectOf, type ConfigIssue } from './issues.js';
import type { JsonNode } from './json-tree.js';

/**
 * Converts an already-parsed JavaScript value into a {@link JsonNode} tree, so that objects built in
 * code go through exactly the same decoding as configuration text. Properties whose value is
 * `undefined` are left out (as `JSON.stringify` does); anything JSON cannot express (functions,
 * symbols, bigints, NaN, ±Infinity, `undefined` list items) is reported as an error at its path.
 */
export function jsonTreeOfValue(value: unknown): { node: JsonNode; errors: ConfigIssue[] } {
  const errors: ConfigIssue[] = [];
  const node = convert(value, '', errors);
  return { node, errors };
}

function convert(value: unknown, path: string, errors: ConfigIssue[]): JsonNode {
  if (value === null) return { kind: 'null' };
  if (typeof value === 'string') return { kind: 'string', value };
  if (typeof value === 'boolean') return { kind: 'boolean', value };
  if (typeof value === 'number' && Number.isFinite(value)) {
    // The literal a JSON writer would produce, without exponent for integers (1e21 is an integer).
    const raw = Number.isInteger(value) ? BigInt(value).toString() : String(value);
    return { kind: 'number', value, raw };
  }
  if (Array.isArray(value)) {
    return { kind: 'array', items: value.map((item, i) => convert(item, `${path}[${i}]`, errors)) };
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([key, v]) => ({ key, value: convert(v, joinPath(path, key), errors) }));
    return { kind: 'object', entries };
  }
  errors.push({ path, message: `${subjectOf(path)} is not a JSON value (${describeNonJson(value)})` });
  return { kind: 'null' };
}

function describeNonJson(value: unknown): string {
  if (typeof value === 'number') return String(value);
  return typeof value;
}
