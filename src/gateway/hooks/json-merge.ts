/**
 * Shallow JSON merge into a request or response body (`injectJSONIntoRequest`,
 * `injectJSONIntoResponse`): the body must be a JSON object; each injected top-level key replaces
 * the body's. matrix-corporal decoded into a Go map and re-encoded it; the same JSON value comes
 * out here, with the body's key order kept (Go sorted the keys).
 *
 * Returns the re-encoded body, or null when the body is not a JSON object (empty, not JSON, an
 * array, a scalar, `null`): a processing error for the caller.
 */
export function mergeIntoJsonObject(body: Buffer, inject: Readonly<Record<string, unknown>>): Buffer | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  for (const key of Object.keys(inject)) {
    // defineProperty, not assignment: an injected `__proto__` key must become a plain JSON key,
    // never the object's prototype.
    Object.defineProperty(parsed, key, { value: inject[key], enumerable: true, writable: true, configurable: true });
  }
  return Buffer.from(JSON.stringify(parsed), 'utf8');
}

/** True when a hook's injection map has nothing in it. */
export function isEmptyObject(value: Readonly<Record<string, unknown>>): boolean {
  return Object.keys(value).length === 0;
}
