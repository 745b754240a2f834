/**
 * Character sets as sorted, merged code-point ranges, and how to write them as a JS character
 * class. Used to translate RE2 classes exactly (ASCII POSIX classes, `\s`, negations inside a class)
 * instead of trusting JS to read RE2 class syntax the same way.
 */

/** An inclusive code-point range. */
export type CodeRange = readonly [number, number];

/** RE2's ASCII named classes (`[[:alpha:]]`) and Perl classes, as ranges. */
export const POSIX_CLASSES: ReadonlyMap<string, readonly CodeRange[]> = new Map<string, readonly CodeRange[]>([
  ['alnum', [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]]],
  ['alpha', [[0x41, 0x5a], [0x61, 0x7a]]],
  ['ascii', [[0x00, 0x7f]]],
  ['blank', [[0x09, 0x09], [0x20, 0x20]]],
  ['cntrl', [[0x00, 0x1f], [0x7f, 0x7f]]],
  ['digit', [[0x30, 0x39]]],
  ['graph', [[0x21, 0x7e]]],
  ['lower', [[0x61, 0x7a]]],
  ['print', [[0x20, 0x7e]]],
  ['punct', [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]]],
  ['space', [[0x09, 0x0d], [0x20, 0x20]]],
  ['upper', [[0x41, 0x5a]]],
  ['word', [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]]],
  ['xdigit', [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]]],
]);

/** RE2's Perl classes: `\d`, `\s` (tab, newline, form feed, carriage return, space: no `\v`), `\w`. */
export const PERL_CLASSES: ReadonlyMap<string, readonly CodeRange[]> = new Map<string, readonly CodeRange[]>([
  ['d', [[0x30, 0x39]]],
  ['s', [[0x09, 0x0a], [0x0c, 0x0d], [0x20, 0x20]]],
  ['w', [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]]],
]);

/** Sorts and merges ranges (adjacent ones too). */
export function mergeRanges(ranges: readonly CodeRange[]): CodeRange[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

/** The complement of `ranges` within [0, max]. */
export function complementRanges(ranges: readonly CodeRange[], max: number): CodeRange[] {
  const out: CodeRange[] = [];
  let next = 0;
  for (const [lo, hi] of mergeRanges(ranges)) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= max) out.push([next, max]);
  return out;
}

/** Characters that must be backslash-escaped to be literal outside a class (valid with and without `u`). */
const SYNTAX_OUTSIDE = new Set('^$\\.*+?()[]{}|/');
/** Characters that must be backslash-escaped to be literal inside a class. */
const SYNTAX_INSIDE = new Set('\\]^-[');

/** A code point written to mean itself outside a JS character class, with or without the `u` flag. */
export function literalOutsideClass(cp: number): string {
  return writeCodePoint(cp, SYNTAX_OUTSIDE);
}

/** A code point written to mean itself inside a JS character class, with or without the `u` flag. */
export function literalInsideClass(cp: number): string {
  return writeCodePoint(cp, SYNTAX_INSIDE);
}

function writeCodePoint(cp: number, syntax: ReadonlySet<string>): string {
  if (cp >= 0x20 && cp <= 0x7e) {
    const ch = String.fromCharCode(cp);
    return syntax.has(ch) ? `\\${ch}` : ch;
  }
  if (cp <= 0xff) return `\\x${cp.toString(16).padStart(2, '0')}`;
  if (cp <= 0xffff) return `\\u${cp.toString(16).padStart(4, '0')}`;
  return `\\u{${cp.toString(16)}}`;
}

/** A JS character class for the ranges plus `\p{…}` items; `[]` matches nothing, `[^]` anything. */
export function writeClass(ranges: readonly CodeRange[], properties: readonly string[], negated: boolean): string {
  let out = negated ? '[^' : '[';
  for (const [lo, hi] of mergeRanges(ranges)) {
    out += lo === hi ? literalInsideClass(lo) : `${literalInsideClass(lo)}-${literalInsideClass(hi)}`;
  }
  return `${out}${properties.join('')}]`;
}
