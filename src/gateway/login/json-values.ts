/**
 * JSON values as Synapse's Python code treats them, for the login and UIA phases (decoding bodies
 * is gateway/json-body.ts).
 */
import type { JsonObject } from '../json-body.js';

/**
 * Python's truthiness of a JSON value, which Synapse's `if user:` and `if medium and address:`
 * use: `null`, `false`, `0`, `""`, `[]` and `{}` are false. (JavaScript's differs for `[]` and
 * `{}`, which are true.)
 */
export function isPythonTruthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

/**
 * A shallow copy of `source` without the keys in `omit`, for re-encoding a client's body with
 * changes. `defineProperty`, not assignment: a client's own `__proto__` key stays a plain data
 * field of the copy (and is re-encoded), instead of replacing the copy's prototype.
 */
export function copyObjectWithout(source: JsonObject, omit: ReadonlySet<string>): JsonObject {
  const copy: JsonObject = {};
  for (const key of Object.keys(source)) {
    if (omit.has(key)) continue;
    Object.defineProperty(copy, key, { value: source[key], enumerable: true, writable: true, configurable: true });
  }
  return copy;
}
