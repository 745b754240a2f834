/**
 * Reading a request body the way Synapse reads it (`parse_json_object_from_request`): strict
 * UTF-8, then JSON, then it must be an object. The gateway decides on exactly the value Synapse
 * will act on, so it must not accept bytes Synapse refuses nor read them differently.
 */

/** A JSON object as decoded from a request body. */
export type JsonObject = Record<string, unknown>;

/**
 * `fatal`: invalid UTF-8 is an error, as Python's `bytes.decode("utf8")` makes it (a lenient
 * decoder would turn it into U+FFFD and decide on a string Synapse never sees). `ignoreBOM`: a
 * leading BOM is kept as a character, so the JSON parse fails exactly where Python's fails.
 */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decodes `body` as a JSON object; null when the bytes are not UTF-8, not JSON, or JSON that is
 * not an object (Synapse answers 400 to all three). `NaN`/`Infinity` are refused by both sides.
 * Duplicate keys: the last one wins, in Python's `json` and in `JSON.parse` alike.
 */
export function parseJsonObject(body: Uint8Array | string): JsonObject | null {
  let text: string;
  if (typeof body === 'string') {
    text = body;
  } else {
    try {
      text = UTF8.decode(body);
    } catch {
      return null;
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return isJsonObject(value) ? value : null;
}

/** True for a JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

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
