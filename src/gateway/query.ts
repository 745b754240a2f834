/**
 * Query-string reading exactly as Synapse sees it.
 *
 * Synapse takes `request.args` from Twisted's `parse_qs(query, keep_blank_values=1)`, which
 * differs from WHATWG `URLSearchParams`: it splits on `&` **and** `;`, skips items without `=`,
 * turns `+` into a space and percent-decodes keys and values to bytes (`unquote_to_bytes`: a `%`
 * not followed by two hex digits stays literal). So `%61ccess_token=x` and `a=1;access_token=x`
 * both carry an access token for Synapse. Whatever the gateway reads from a query (the token, the
 * appservice `user_id`, a long-poll `timeout`) must be read this way, or the gateway and Synapse
 * could disagree about who is asking.
 */
import { percentDecodeBytes } from './router/percent-bytes.js';

/** Every value of `key` in `rawQuery` (undecoded, without `?`), in order, as bytes; null when absent. */
export function queryValues(rawQuery: string, key: string): Uint8Array[] | null {
  if (rawQuery === '' || !mayContainKey(rawQuery, key)) return null;
  let values: Uint8Array[] | null = null;
  forEachItem(rawQuery, (start, eq, end) => {
    if (bytesEqual(unquotePlus(rawQuery, start, eq), key)) (values ??= []).push(unquotePlus(rawQuery, eq + 1, end));
  });
  return values;
}

/**
 * `rawQuery` with the value of every item whose (decoded) key, in lower case, is in `lowerCaseKeys`
 * replaced by `[redacted]`, everything else unchanged; for logs. The case is ignored although
 * Synapse reads the keys as written: a live token under `?Access_Token=` is refused by Synapse but
 * still a secret, and hiding a value too many costs a log nothing (day-2 review 19, #8).
 */
export function redactQuery(rawQuery: string, lowerCaseKeys: ReadonlySet<string>): string {
  if (rawQuery === '') return rawQuery;
  let out = '';
  let copiedTo = 0;
  forEachItem(rawQuery, (start, eq, end) => {
    const name = unquotePlus(rawQuery, start, eq);
    if (!lowerCaseKeys.has(Buffer.from(name.buffer, name.byteOffset, name.byteLength).toString('latin1').toLowerCase())) return;
    out += `${rawQuery.slice(copiedTo, eq + 1)}[redacted]`;
    copiedTo = end;
  });
  return copiedTo === 0 ? rawQuery : out + rawQuery.slice(copiedTo);
}

/** Calls `visit(start, eq, end)` for each `&`/`;`-separated item that has an `=` (Twisted skips the others). */
function forEachItem(rawQuery: string, visit: (start: number, eq: number, end: number) => void): void {
  const length = rawQuery.length;
  let start = 0;
  while (start < length) {
    let end = start;
    let eq = -1;
    while (end < length) {
      const c = rawQuery.charCodeAt(end);
      if (c === 0x26 /* & */ || c === 0x3b /* ; */) break;
      if (c === 0x3d /* = */ && eq === -1) eq = end;
      end++;
    }
    if (eq !== -1) visit(start, eq, end);
    start = end + 1;
  }
}

/** The first value of `key` as a string (latin1: one char per byte), or null when absent. */
export function firstQueryValue(rawQuery: string, key: string): string | null {
  const values = queryValues(rawQuery, key);
  const first = values?.[0];
  return first === undefined ? null : Buffer.from(first.buffer, first.byteOffset, first.byteLength).toString('latin1');
}

/**
 * Cheap pre-check: a key can only be present if its plain text or some percent escape occurs.
 * Keeps the common request (no `%`, no such key) free of any parsing.
 */
function mayContainKey(rawQuery: string, key: string): boolean {
  return rawQuery.includes(key) || rawQuery.includes('%') || (key.includes(' ') && rawQuery.includes('+'));
}

/** `unquote_to_bytes(s.replace('+', ' '))` of `text[from, to)`. */
function unquotePlus(text: string, from: number, to: number): Uint8Array {
  return percentDecodeBytes(text, from, to, true);
}

function bytesEqual(bytes: Uint8Array, ascii: string): boolean {
  if (bytes.length !== ascii.length) return false;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== ascii.charCodeAt(i)) return false;
  return true;
}
