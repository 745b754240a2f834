/**
 * The pieces of JSON syntax both hand-written parsers share — the configuration's
 * (`common/config/json-parse.ts`) and the policy's (`policy/parse.ts`) — so that their limits,
 * number grammar and error wording cannot drift apart.
 */

/** Nesting deeper than this is refused instead of risking the call stack. */
export const MAX_JSON_DEPTH = 512;

/** A JSON number (RFC 8259), sticky: set `lastIndex` to the position, then `exec`. */
export const JSON_NUMBER_PATTERN = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** JSON's one-letter escapes: the letter after `\` → the character it stands for. */
export const JSON_SIMPLE_ESCAPES: ReadonlyMap<string, string> = new Map([
  ['"', '"'], ['\\', '\\'], ['/', '/'], ['b', '\b'], ['f', '\f'], ['n', '\n'], ['r', '\r'], ['t', '\t'],
]);

/**
 * Characters a syntax error may quote: JSON's own punctuation and two usual typos. Not `=`, `/`,
 * `\` or `+`, which occur in base64 and URL-like secrets.
 */
const QUOTABLE: ReadonlySet<number> = new Set([...'{}[]:,"\';'].map((char) => char.codePointAt(0) as number));

/**
 * The message for an unexpected character at `offset` of `text` (or the end of input), `expected`
 * saying what should have come. Only punctuation is quoted, and control characters as `U+XXXX`:
 * a stray letter or digit may be the first character of an unquoted password or token, and these
 * messages are printed by `check`, logged, kept in `/status` and in Docker's health-check history.
 */
export function unexpectedCharacterMessage(text: string, offset: number, expected: string): string {
  const c = text.codePointAt(offset);
  if (c === undefined) return `unexpected end of input; expected ${expected}`;
  const shown = c < 0x20 || c === 0x7f
    ? ` U+${c.toString(16).toUpperCase().padStart(4, '0')}`
    : QUOTABLE.has(c) ? ` '${String.fromCodePoint(c)}'` : '';
  return `unexpected character${shown}; expected ${expected}`;
}
