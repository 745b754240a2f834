import { parseJsonObject } from '../json-body.js';

/**
 * Shallow JSON merge into a request or response body (`injectJSONIntoRequest`,
 * `injectJSONIntoResponse`): the body must be a JSON object; each injected top-level key replaces
 * the body's. matrix-corporal decoded into a Go map and re-encoded it; the same JSON value comes
 * out here, with the body's key order kept (Go sorted the keys).
 *
 * Returns the re-encoded body, or null when the body is not a JSON object (empty, not UTF-8, not
 * JSON, an array, a scalar, `null`): a processing error for the caller. Decoded strictly, as every
 * other body the gateway reads (json-body.ts): bytes Synapse would refuse as not UTF-8 are not
 * turned into valid JSON for it (Go's lenient decoding did that in matrix-corporal).
 */
export function mergeIntoJsonObject(body: Buffer, inject: Readonly<Record<string, unknown>>): Buffer | null {
  const parsed = parseJsonObject(body);
  if (parsed === null) return null;
  for (const key of Object.keys(inject)) {
    // defineProperty, not assignment: an injected `__proto__` key must become a plain JSON key,
    // never the object's prototype.
    Object.defineProperty(parsed, key, { value: inject[key], enumerable: true, writable: true, configurable: true });
  }
  return Buffer.from(JSON.stringify(parsed), 'utf8');
}

