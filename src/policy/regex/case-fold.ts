import { mergeRanges, type CodeRange } from './char-set.js';

/**
 * The Turkic dotted capital and dotless small i: their case mappings join them to `I`/`i`, but
 * simple case folding (and so RE2) leaves them out (CaseFolding.txt's `T` entries).
 */
const TURKIC_I: ReadonlySet<number> = new Set([0x130, 0x131]);

/**
 * Case orbits of the BMP: each cased code point → every code point of its orbit, sorted. Module
 * state only as the memo of a pure function, built on first use (about 65,000 case mappings) so that
 * processes that translate no `(?i)` pattern never pay for it; never changed once built.
 */
let orbits: ReadonlyMap<number, readonly number[]> | null = null;
/** The cased code points (keys of `orbits`), sorted. */
let cased: readonly number[] = [];

/**
 * RE2's `(?i)` matches by Unicode simple case folding orbits: `s`, `S` and `ſ` (U+017F) are one
 * orbit, `k`, `K` and the Kelvin sign (U+212A) another. JS has no simple case folding, so the
 * orbits are rebuilt from single-code-point lower- and upper-case mappings (joined transitively),
 * once, on first use: about 2,800 cased code points.
 */
function buildOrbits(): ReadonlyMap<number, readonly number[]> {
  const parent = new Map<number, number>();
  const find = (cp: number): number => {
    let root = cp;
    while (parent.has(root) && parent.get(root) !== root) root = parent.get(root) as number;
    return root;
  };
  const join = (a: number, b: number): void => {
    const ra = find(a);
    const rb = find(b);
    if (!parent.has(ra)) parent.set(ra, ra);
    if (!parent.has(rb)) parent.set(rb, rb);
    if (ra !== rb) parent.set(Math.max(ra, rb), Math.min(ra, rb));
  };
  for (let cp = 0; cp <= 0xffff; cp++) {
    if ((cp >= 0xd800 && cp <= 0xdfff) || TURKIC_I.has(cp)) continue;
    const text = String.fromCharCode(cp);
    for (const mapped of [text.toLowerCase(), text.toUpperCase()]) {
      if (mapped.length === 1 && mapped !== text) join(cp, mapped.charCodeAt(0));
    }
  }
  const members = new Map<number, number[]>();
  for (const cp of parent.keys()) {
    const root = find(cp);
    let list = members.get(root);
    if (list === undefined) members.set(root, (list = []));
    list.push(cp);
  }
  const result = new Map<number, readonly number[]>();
  for (const list of members.values()) {
    list.sort((a, b) => a - b);
    for (const cp of list) result.set(cp, list);
  }
  cased = [...result.keys()].sort((a, b) => a - b);
  return result;
}

/** Every code point `cp` matches under `(?i)` (itself included), for BMP code points. */
export function caseVariants(cp: number): readonly number[] {
  orbits ??= buildOrbits();
  return orbits.get(cp) ?? [cp];
}

/** `ranges` with every case variant of every code point in them added (sorted, merged). */
export function foldRanges(ranges: readonly CodeRange[]): CodeRange[] {
  orbits ??= buildOrbits();
  const out: CodeRange[] = [...ranges];
  for (const [lo, hi] of ranges) {
    let index = firstAtLeast(lo);
    for (; index < cased.length && (cased[index] as number) <= hi; index++) {
      for (const variant of orbits.get(cased[index] as number) ?? []) out.push([variant, variant]);
    }
  }
  return mergeRanges(out);
}

function firstAtLeast(cp: number): number {
  let low = 0;
  let high = cased.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((cased[mid] as number) < cp) low = mid + 1;
    else high = mid;
  }
  return low;
}
