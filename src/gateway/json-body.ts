/**
 * A request body as the gateway's checks, login and UIA phases see it, decoded exactly as Synapse decodes JSON bodies
 * (`synapse/http/servlet.py` `parse_json_value_from_request`): strict UTF-8 (an invalid byte
 * makes the body "not JSON" instead of being replaced), a BOM is not skipped (Python's
 * `json.JSONDecoder.decode` rejects it, and so does `JSON.parse`), and an empty body is its own
 * case because some Synapse servlets accept it as `{}`.
 *
 * Why strict: a check must never read a value out of bytes that Synapse would refuse or read
 * differently. Decoding leniently (U+FFFD replacement) could make Corporal inspect a body
 * Synapse never executes, which is harmless, but the strictness keeps the two readings identical.
 */
export type JsonBody =
  | { readonly kind: 'json'; readonly value: unknown }
  | { readonly kind: 'empty' }
  | { readonly kind: 'invalid' };

const EMPTY: JsonBody = Object.freeze({ kind: 'empty' });
const INVALID: JsonBody = Object.freeze({ kind: 'invalid' });
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Deepest nesting of arrays and objects read. Python's `json` (Synapse) gives up near its
 * recursion limit of 1,000 and Synapse answers such a body 400, so no body it executes is deeper;
 * a deeper one here is "not JSON" too. Without the bound, an unauthenticated client's 1 MiB of
 * `[[[…` cost a gateway thread ~50 ms to parse, and re-serialising it (a login rewrite) overflowed
 * the stack: a 500 and an error line per request (red team 17, F5).
 */
export const MAX_JSON_DEPTH = 1_000;

/**
 * Whether `text` nests arrays and objects deeper than `maxDepth`, counting brackets outside
 * strings (linear, no allocation; the text need not be valid JSON).
 */
export function nestsDeeperThan(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

/** `JSON.parse` within {@link MAX_JSON_DEPTH}; throws on invalid or too deep text. */
function parseBounded(text: string): unknown {
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) throw new SyntaxError(`JSON nested deeper than ${MAX_JSON_DEPTH}`);
  return JSON.parse(text) as unknown;
}

/** Parses a buffered request body (already bounded in size by the caller). */
export function parseJsonBody(bytes: Uint8Array): JsonBody {
  if (bytes.byteLength === 0) return EMPTY;
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    return INVALID;
  }
  try {
    return { kind: 'json', value: parseBounded(text) };
  } catch {
    return INVALID;
  }
}

/** A JSON object as decoded from a request body. */
export type JsonObject = Record<string, unknown>;

/** True for a JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The body as a JSON object, or null when it is absent, empty, not JSON or not an object (Synapse
 * answers all of these with 400 on the routes whose checks read the body).
 */
export function jsonObject(body: JsonBody | undefined): Readonly<JsonObject> | null {
  if (body === undefined || body.kind !== 'json') return null;
  return isJsonObject(body.value) ? body.value : null;
}

/**
 * Decodes `body` as a JSON object (`parse_json_object_from_request`); null when the bytes are not
 * UTF-8, not JSON, or JSON that is not an object (Synapse answers 400 to all three). A string is
 * taken as already decoded. Duplicate keys: the last one wins, in Python's `json` and in
 * `JSON.parse` alike.
 */
export function parseJsonObject(body: Uint8Array | string): JsonObject | null {
  if (typeof body !== 'string') return jsonObject(parseJsonBody(body)) as JsonObject | null;
  try {
    const value = parseBounded(body);
    return isJsonObject(value) ? value : null;
  } catch {
    return null;
  }
}

/** `object[key]` if it is an own property (a body key named `__proto__` or `toString` is just a key). */
export function ownField(object: Readonly<Record<string, unknown>>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}
