/**
 * Non-ASCII characters that Go's `encoding/json` folds onto an ASCII letter. Go (1.21+) compares
 * `unicode.ToUpper(unicode.ToLower(r))` per rune, so the Kelvin sign matches `k`, the long s
 * matches `s`, and both Turkish i's match `i`. Every policy key is ASCII, so no other non-ASCII
 * character can take part in a match.
 */
const NON_ASCII_FOLDS: ReadonlyMap<string, string> = new Map([
  ['\u212a', 'K'],
  ['\u017f', 'S'],
  ['\u0130', 'I'],
  ['\u0131', 'I'],
]);

/**
 * The case-folded form of a JSON object key: `foldKey(a) === foldKey(b)` exactly when Go's
 * `encoding/json` treats `a` and `b` as the same (ASCII) struct field name.
 */
export function foldKey(key: string): string {
  let out = '';
  for (const ch of key) {
    out += ch.charCodeAt(0) < 0x80 ? ch.toUpperCase() : (NON_ASCII_FOLDS.get(ch) ?? ch);
  }
  return out;
}

/** Field lookup of one object type: exact spelling first, then the folded form (Go's order). */
export interface FieldTable<F extends string> {
  readonly fields: readonly F[];
  /** Field name → its position in `fields`. */
  readonly exact: ReadonlyMap<string, number>;
  readonly folded: ReadonlyMap<string, number>;
}

/** Builds the lookup table for the canonical field names of one object type. */
export function fieldTable<F extends string>(fields: readonly F[]): FieldTable<F> {
  return {
    fields,
    exact: new Map(fields.map((field, index) => [field, index])),
    folded: new Map(fields.map((field, index) => [foldKey(field), index])),
  };
}

/** Position (in `table.fields`) of the field a JSON key decodes into, or undefined for an unknown key. */
export function lookupField<F extends string>(table: FieldTable<F>, key: string): number | undefined {
  return table.exact.get(key) ?? table.folded.get(foldKey(key));
}
