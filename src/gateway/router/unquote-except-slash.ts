import { unquote } from './unquote.js';

/** Every spelling of an encoded `/`: the escape stays encoded, and splits nothing. */
const ENCODED_SLASH = /%2F/i;

/**
 * Percent-decodes a raw path the way {@link unquote} (Python's `urllib.parse.unquote`) does, except
 * that an encoded slash (`%2F` or `%2f`) stays encoded, written `%2F`. The result has exactly the
 * segments Synapse sees: Synapse matches its servlet regexes on the raw path, where `%2F` separates
 * nothing, and decodes each captured parameter afterwards. Every other escape is decoded as
 * `unquote` decodes it (`m%2Eroom` reads `m.room`, multi-byte UTF-8 escapes become their
 * character, invalid UTF-8 becomes U+FFFD, `%zz` and `%2` stay literal), and decoding happens once:
 * `%252F` becomes the literal text `%2F`, which then reads like an encoded slash (neither is a
 * separator). Exact, because a `%2F` is decoded by Python wherever it stands and `/` is never part
 * of a UTF-8 sequence, so decoding the pieces between the escapes equals decoding the whole.
 */
export function unquoteExceptSlash(rawPath: string): string {
  if (rawPath.indexOf('%') === -1) return rawPath;
  const pieces = rawPath.split(ENCODED_SLASH);
  let out = unquote(pieces[0]!);
  for (let i = 1; i < pieces.length; i++) out += '%2F' + unquote(pieces[i]!);
  return out;
}
