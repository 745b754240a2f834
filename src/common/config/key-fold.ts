/**
 * Non-ASCII characters that Go's `encoding/json` folds onto an ASCII letter. Go (1.21+) compares
 * `unicode.ToUpper(unicode.ToLower(r))` of each rune, so the Kelvin sign matches `k`, the long s
 * matches `s`, and both Turkish i's match `i`. Every configuration key is ASCII, so no other
 * non-ASCII character can ever take part in a match.
 */
const NON_ASCII_FOLDS: ReadonlyMap<string, string> = new Map([
  ['\u212a', 'K'],
  ['\u017f', 'S'],
  ['\u0130', 'I'],
  ['\u0131', 'I'],
]);

/**
 * The case-folded form of a JSON object key, such that `foldKey(a) === foldKey(b)` exactly when
 * Go's `encoding/json` treats `a` and `b` as the same struct field name (for ASCII field names).
 */
export function foldKey(key: string): string {
  let out = '';
  for (const ch of key) {
    out += ch.charCodeAt(0) < 0x80 ? ch.toUpperCase() : (NON_ASCII_FOLDS.get(ch) ?? ch);
  }
  return out;
}
