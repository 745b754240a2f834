import { foldKey } from '../../common/key-fold.js';
import { isJsonObject, type JsonObject } from '../json-body.js';

/**
 * The members matrix-corporal decoded a login body into (Go's `ApiLoginRequestPayload`), all
 * strings, keys matched as Go matches them (exact spelling or case-insensitively).
 */
const STRING_FIELDS: ReadonlySet<string> = new Set(
  ['type', 'password', 'medium', 'user', 'address', 'token', 'device_id', 'initial_device_display_name'].map(foldKey),
);
const IDENTIFIER = foldKey('identifier');
/** The members of its `identifier` object (`ApiLoginRequestIdentifier`). */
const IDENTIFIER_FIELDS: ReadonlySet<string> = new Set(['type', 'user'].map(foldKey));

/**
 * True when matrix-corporal could not decode `body` into its login struct: one of its string
 * members (or `identifier.type` / `identifier.user`) holds a number, a boolean, a list or an
 * object, or `identifier` is not an object. It answered such a body 403 `M_BAD_JSON` "Bad input"
 * whatever else it said; `null` is no error (Go: "null has no effect"), and other keys are ignored.
 * Matrix clients send strings there; the refusal is kept for scripts that test for it.
 */
export function failsGoLoginDecoding(body: JsonObject): boolean {
  for (const key in body) {
    const value = body[key];
    if (value === null) continue;
    const field = foldKey(key);
    if (STRING_FIELDS.has(field)) {
      if (typeof value !== 'string') return true;
    } else if (field === IDENTIFIER) {
      if (!isJsonObject(value)) return true;
      for (const inner in value) {
        const member = value[inner];
        if (member !== null && typeof member !== 'string' && IDENTIFIER_FIELDS.has(foldKey(inner))) return true;
      }
    }
  }
  return false;
}
