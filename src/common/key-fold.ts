/**
 * Non-ASCII characters that Go's `encoding/json` folds onto an ASCII letter. Go folds each rune to
 * the smallest rune of its `unicode.SimpleFold` orbit, so the Kelvin sign (orbit K, k, U+212A)
 * matches `k` and the long s (orbit S, s, U+017F) matches `s`. The Turkish dotless and dotted i
 * have orbits of their own and match nothing (checked against Go 1.26's encoding/json). Every
 * configuration and policy key is ASCII, so no other non-ASCII character can take part in a match.
 */
const NON_ASCII_FOLDS: ReadonlyMap<string, string> = new Map([
  ['\u212a', 'K'],
  ['\u017f', 'S'],
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
