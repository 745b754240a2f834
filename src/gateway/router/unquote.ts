import { percentDecodeBytes } from './percent-bytes.js';

/**
 * Percent-decoding that gives exactly what Python's `urllib.parse.unquote` (UTF-8, errors =
 * 'replace') gives, because that is what Synapse runs on every captured path group
 * (`synapse/http/server.py`, `_get_handler_for_request`). Any difference would let a parameter
 * mean one thing to a policy check and another to Synapse.
 *
 * CPython 3.11 semantics copied here:
 * - no `%` at all: the input is returned unchanged;
 * - the input is split into maximal runs of ASCII (U+0000–U+007F) and non-ASCII characters; the
 *   non-ASCII runs are kept as they are;
 * - in an ASCII run, `%` followed by two hex digits (either case) becomes that byte; any other `%`
 *   (`%zz`, `%4`, a trailing `%`) stays literally;
 * - the bytes of each ASCII run are decoded as UTF-8 with U+FFFD for every maximal invalid
 *   subsequence (Node's UTF-8 decoder follows the same rule), and a BOM is kept, not stripped.
 */
export function unquote(value: string): string {
  if (value.indexOf('%') === -1) return value;
  let out = '';
  const length = value.length;
  let start = 0;
  while (start < length) {
    let end = start;
    while (end < length && value.charCodeAt(end) < 0x80) end++;
    if (end > start) out += unquoteAsciiRun(value, start, end);
    let next = end;
    while (next < length && value.charCodeAt(next) >= 0x80) next++;
    if (next > end) out += value.slice(end, next);
    start = next;
  }
  return out;
}

function unquoteAsciiRun(value: string, start: number, end: number): string {
  const firstPercent = value.indexOf('%', start);
  if (firstPercent === -1 || firstPercent >= end) return value.slice(start, end);
  const bytes = percentDecodeBytes(value, start, end, false);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}
