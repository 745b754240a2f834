/**
 * The one reading of `%XX` escapes that the gateway shares with Synapse: Python's
 * `urllib.parse.unquote_to_bytes`, which both the path decoder (`unquote`) and the query reader
 * (Twisted's `parse_qs`) come down to. A `%` followed by two hex digits (either case) is that byte;
 * any other `%` (`%zz`, `%4`, a trailing `%`) stays literally. Kept in one place so that a path
 * parameter and a query value can never be decoded by two subtly different rules.
 */

/**
 * The bytes of `text[from, to)` with every `%XX` escape decoded. Each other character becomes its
 * low byte (callers pass ASCII, or latin1 text where that is what Python would see); with
 * `plusAsSpace`, a literal `+` becomes a space first, as `parse_qs` does before unquoting (so `%2B`
 * stays `+`). The result is a view of at most `to - from` bytes.
 */
export function percentDecodeBytes(text: string, from: number, to: number, plusAsSpace: boolean): Uint8Array {
  // Each decoded byte comes from at least one input character, so `to - from` bytes suffice.
  const out = new Uint8Array(to - from);
  let size = 0;
  let i = from;
  while (i < to) {
    const code = text.charCodeAt(i);
    if (code === 0x25 /* % */ && i + 2 < to) {
      const high = hexValue(text.charCodeAt(i + 1));
      const low = hexValue(text.charCodeAt(i + 2));
      if (high !== -1 && low !== -1) {
        out[size++] = (high << 4) | low;
        i += 3;
        continue;
      }
    }
    out[size++] = plusAsSpace && code === 0x2b /* + */ ? 0x20 : code & 0xff;
    i++;
  }
  return out.subarray(0, size);
}

/** The value of an ASCII hex digit's char code (either case), or -1: `%XX` as Python reads it. */
function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}
