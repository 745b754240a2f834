import { isLinearTimeEligible } from '../../common/linear-regexp.js';
import { caseVariants, foldRanges } from './case-fold.js';
import { PERL_CLASSES, POSIX_CLASSES, complementRanges, literalOutsideClass, mergeRanges, writeClass, type CodeRange } from './char-set.js';

/** A JS regular expression as plain data: `new RegExp(source, flags)` rebuilds it. */
export interface RegexSource {
  source: string;
  flags: string;
}

/** Outcome of {@link translateRe2}. */
export type Re2Translation =
  | { ok: true; regex: RegexSource; warnings: string[] }
  | { ok: false; message: string };

/** RE2's limit on `{n,m}` counts. */
const MAX_REPEAT = 1000;

/** The largest count V8's linear-time engine runs (`a{17}` keeps a pattern off it). */
const LINEAR_ENGINE_MAX_COUNT = 16;

/** At most this many copies of repeated atoms per pattern from splitting counts (e.g. two `{0,256}`). */
const MAX_SPLIT_COPIES = 32;

/**
 * `{min,max}` as a sequence of counts of at most {@link LINEAR_ENGINE_MAX_COUNT} each, whose sum
 * ranges over the same numbers: `x{20,40}` is `x{16}x{4,16}x{0,8}`. Written so, a large count
 * keeps the pattern on V8's linear-time engine (it refuses `x{17}`, not seventeen `x`s in a row).
 */
function splitCount(min: number, max: number): string[] {
  const counts: string[] = [];
  let low = min;
  let high = max;
  while (high === Infinity ? low > LINEAR_ENGINE_MAX_COUNT : high > LINEAR_ENGINE_MAX_COUNT) {
    const take = Math.min(low, LINEAR_ENGINE_MAX_COUNT);
    counts.push(take === LINEAR_ENGINE_MAX_COUNT ? `{${take}}` : `{${take},${LINEAR_ENGINE_MAX_COUNT}}`);
    low -= take;
    high -= LINEAR_ENGINE_MAX_COUNT;
  }
  counts.push(high === Infinity ? `{${low},}` : low === high ? `{${low}}` : `{${low},${high}}`);
  return counts;
}

/** Unicode general categories JS accepts as `\p{X}`; any other RE2 name is a script. */
const GENERAL_CATEGORIES = new Set([
  'C', 'Cc', 'Cf', 'Co', 'Cs', 'L', 'Ll', 'Lm', 'Lo', 'Lt', 'Lu', 'M', 'Mc', 'Me', 'Mn', 'N', 'Nd', 'Nl', 'No',
  'P', 'Pc', 'Pd', 'Pe', 'Pf', 'Pi', 'Po', 'Ps', 'S', 'Sc', 'Sk', 'Sm', 'So', 'Z', 'Zl', 'Zp', 'Zs',
]);

/**
 * Translates a Go RE2 pattern (matrix-corporal's dialect) into an equivalent JS `RegExp` source,
 * or explains why it cannot.
 *
 * Why translate rather than hand the pattern to `RegExp`: the two dialects read some of the same
 * text differently, and a hook rule that silently matches something else is a policy bypass.
 * Exact translations: `.` (RE2: anything but `\n`; JS also stops at `\r`, U+2028, U+2029), `\s`
 * (RE2 has no `\v`/Unicode spaces), `\A`, `\z`, `\a`, octal `\123`, `\x{…}`, `\Q…\E`, `[]a]`,
 * `[[:alpha:]]`, `(?P<name>…)`, `(?s)`/`(?m)` anywhere (done by rewriting `.`, `^`, `$`, so JS never
 * gets the `s`/`m` flags), and a leading `(?i)` (written out as case classes, `[Ssſ]`, with RE2's
 * case orbits; the JS `i` flag only where the `u` flag is needed too). The `u` flag is used only
 * when the pattern needs it (`\p{…}`, code points above U+FFFF).
 * Refused: what RE2 refuses (lookaround, backreferences, counts over 1000, unknown escapes), what
 * JS cannot express here (`(?U)`, `(?i)` other than at the very start, `\C`), and a pattern that
 * could take exponential time here: one that repeats a group containing a choice or a repetition
 * (`(\w|\d)*`, `(a+)+`) and that V8's linear-time engine cannot run (`(?m)` anchors, `\p{…}`,
 * `u`-mode case folding, huge counts). RE2 runs every pattern in linear time; JS backtracks, and
 * only the patterns the linear engine can run are protected by its fallback (common/linear-regexp.ts).
 */
export function translateRe2(pattern: string): Re2Translation {
  try {
    return new Translator(pattern, false).run();
  } catch (err) {
    if (err instanceof NeedsUnicode) return rerunWithUnicode(pattern);
    if (err instanceof Re2Error) return { ok: false, message: err.message };
    throw err;
  }
}

function rerunWithUnicode(pattern: string): Re2Translation {
  try {
    return new Translator(pattern, true).run();
  } catch (err) {
    if (err instanceof Re2Error) return { ok: false, message: err.message };
    throw err;
  }
}

class Re2Error extends Error {}
class NeedsUnicode extends Error {}

interface Frame {
  /** Output index of the group's opening parenthesis. */
  start: number;
  dotAll: boolean;
  multiLine: boolean;
  /** Whether an alternation or a repetition occurs anywhere inside this group so far. */
  hasChoice: boolean;
  /** Pattern index of the group's opening parenthesis (for messages). */
  patternStart: number;
}

/** The last thing emitted that a repetition operator would apply to. */
interface Atom {
  start: number;
  kind: 'atom' | 'assertion' | 'repeated';
  /** A group that can match one text in several ways (it contains a choice or a repetition). */
  ambiguous: boolean;
  /** Pattern index where the atom starts (for messages). */
  patternStart: number;
}

class Translator {
  private pos = 0;
  private out = '';
  private ignoreCase = false;
  private readonly frames: Frame[] = [{ start: 0, dotAll: false, multiLine: false, hasChoice: false, patternStart: 0 }];
  private atom: Atom | null = null;
  private readonly warnings: string[] = [];
  /** The first repetition of an ambiguous group (see `repeat`), which backtracking can make exponential. */
  private riskyRepetition: string | null = null;
  /** Wide repetitions (`*`, `+`, `{n,}`, `{n,m}` with m > 16) so far: two or more can take high-polynomial time. */
  private wideRepetitions = 0;
  /** Whether a negated class, class escape or property occurs (see the `(?i)` + `u` check in `run`). */
  private hasNegation = false;
  /** Copies of repeated atoms written by splitting large counts (see `repeat`). */
  private splitCopies = 0;
  /** Whether `\b` or `\B` occurs (see the `(?i)` + `u` check in `run`). */
  private hasWordBoundary = false;
  /** Whether a `(?m)` anchor was written (as lookaround, which V8's linear-time engine cannot run). */
  private hasMultilineAnchor = false;

  constructor(private readonly pattern: string, private readonly unicode: boolean) {}

  run(): Re2Translation {
    this.leadingFlags();
    while (this.pos < this.pattern.length) this.step();
    if (this.frames.length > 1) throw new Re2Error('missing closing )');
    // Case-insensitivity is written out as classes unless the `u` flag is needed anyway: the `i`
    // flag keeps a pattern off V8's linear-time engine.
    const regex = { source: this.out === '' ? '(?:)' : this.out, flags: this.unicode ? `${this.ignoreCase ? 'i' : ''}u` : '' };
    try {
      new RegExp(regex.source, regex.flags);
    } catch (err) {
      throw new Re2Error(`cannot be used as a JavaScript regular expression: ${(err as Error).message}`);
    }
    // Under `iu`, JS counts `ſ` and the Kelvin sign as word characters for `\b`; RE2's `\b` is ASCII.
    if (this.unicode && this.ignoreCase && this.hasWordBoundary) {
      throw new Re2Error('(?i) cannot be combined here with \\b or \\B in a pattern that also needs \\p{…} classes or characters '
        + 'above U+FFFF: JavaScript would see other word boundaries than RE2');
    }
    // JS complements a class before it folds case under `iu`, RE2 after: `(?i)\W` would match `s`.
    if (this.unicode && this.ignoreCase && this.hasNegation) {
      throw new Re2Error('(?i) cannot be combined here with a negated class (`[^…]`, `\\W`, `\\P{…}`) in a pattern that also needs '
        + '\\p{…} classes or characters above U+FFFF: JavaScript would match other characters than RE2');
    }
    const risk = this.riskyRepetition !== null
      ? `\`${this.riskyRepetition}\` repeats a group that contains a choice or a repetition, which can take exponential time`
      : this.wideRepetitions >= 2 ? `its ${this.wideRepetitions} wide repetitions (\`*\`, \`+\`, counts above ${LINEAR_ENGINE_MAX_COUNT}) can take time of a high polynomial degree` : null;
    if (risk !== null && !isLinearTimeEligible(regex.source, regex.flags)) {
      const feature = this.ineligibleFeature();
      throw new Re2Error(`${risk} here with ${feature} (RE2 runs any pattern in linear time); rewrite it, or drop ${feature}`);
    }
    return { ok: true, regex, warnings: this.warnings };
  }

  /** What keeps the pattern off V8's linear-time engine, for messages. */
  private ineligibleFeature(): string {
    if (this.unicode) return '\\p{…} classes or characters above U+FFFF (they need the `u` flag)';
    if (this.hasMultilineAnchor) return '(?m) (its ^ and $)';
    return 'repeat counts above 16';
  }

  /** A literal code point; under `(?i)` without the `u` flag, the class of its case variants. */
  private literal(cp: number): string {
    if (!this.ignoreCase || this.unicode) return literalOutsideClass(cp);
    const variants = caseVariants(cp);
    return variants.length === 1 ? literalOutsideClass(cp) : writeClass(variants.map((v) => [v, v] as const), [], false);
  }

  /** `ranges` as `(?i)` reads them (with every case variant) when case is written out. */
  private folded(ranges: readonly CodeRange[]): readonly CodeRange[] {
    return this.ignoreCase && !this.unicode ? foldRanges(ranges) : ranges;
  }

  /** `(?i)`, `(?s)`, `(?m)` and combinations at the very start; `i` is only possible here. */
  private leadingFlags(): void {
    for (;;) {
      const match = /^\(\?([a-zA-Z]+)\)/.exec(this.pattern.slice(this.pos));
      if (match === null) return;
      const letters = match[1] ?? '';
      if (/[^ism]/.test(letters)) return;
      if (letters.includes('i')) this.ignoreCase = true;
      this.applyFlags(letters, '');
      this.pos += match[0].length;
    }
  }

  private get frame(): Frame {
    return this.frames[this.frames.length - 1] as Frame;
  }

  private step(): void {
    const c = this.pattern[this.pos] as string;
    switch (c) {
      case '(': return this.openGroup();
      case ')': return this.closeGroup();
      case '|':
        this.pos += 1;
        this.frame.hasChoice = true;
        this.emit('|', null);
        return;
      case '*': case '+': case '?': return this.repeat(c, c === '?' ? 1 : Infinity, 1);
      case '{': return this.braces();
      case '[': return this.charClass();
      case '.':
        this.pos += 1;
        this.emitAtom(this.classText(this.frame.dotAll ? [] : [[0x0a, 0x0a]], [], true));
        return;
      case '^':
        this.pos += 1;
        if (this.frame.multiLine) this.hasMultilineAnchor = true;
        // Not `(?<![^\n])`: under the `u` flag V8 tries positions inside a surrogate pair, where
        // both halves' lookarounds succeed (fuzzing against Go found `(?m)^$` matching in 😀).
        this.emitAssertion(this.frame.multiLine ? '(?:^|(?<=\\n))' : '^');
        return;
      case '$':
        this.pos += 1;
        if (this.frame.multiLine) this.hasMultilineAnchor = true;
        this.emitAssertion(this.frame.multiLine ? '(?:$|(?=\\n))' : '$');
        return;
      case '\\': return this.escape();
      default:
        this.emitAtom(this.literal(this.literalCodePoint()));
    }
  }

  private emit(text: string, atom: Atom | null): void {
    this.out += text;
    this.atom = atom;
  }

  private emitAtom(text: string): void {
    const start = this.out.length;
    this.emit(text, { start, kind: 'atom', ambiguous: false, patternStart: this.pos });
  }

  private emitAssertion(text: string): void {
    const start = this.out.length;
    this.emit(text, { start, kind: 'assertion', ambiguous: false, patternStart: this.pos });
  }

  /** Reads one literal character (a whole code point); a surrogate pair needs the `u` flag. */
  private literalCodePoint(): number {
    const cp = this.pattern.codePointAt(this.pos) as number;
    if (cp > 0xffff && !this.unicode) throw new NeedsUnicode();
    this.pos += cp > 0xffff ? 2 : 1;
    return cp;
  }

  private openGroup(): void {
    const patternStart = this.pos;
    const rest = this.pattern.slice(this.pos);
    const outer = this.frame;
    if (rest.startsWith('(?=') || rest.startsWith('(?!') || rest.startsWith('(?<=') || rest.startsWith('(?<!')) {
      throw new Re2Error('lookahead and lookbehind are not supported (RE2 refuses them too)');
    }
    const named = /^\((?:\?P?<([^>]*)>)/.exec(rest);
    const scoped = /^\(\?([a-zA-Z-]*)(:|\))/.exec(rest);
    let opener = '(';
    if (named !== null) {
      const name = named[1] ?? '';
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Re2Error(`invalid capture group name \`${name}\``);
      opener = `(?<${name}>`;
      this.pos += named[0].length;
    } else if (scoped !== null) {
      const letters = scoped[1] ?? '';
      if (scoped[2] === ')' && letters.replaceAll('-', '') === '') throw new Re2Error(`unsupported group syntax \`${scoped[0]}\``);
      this.pos += scoped[0].length;
      if (scoped[2] === ')') {
        this.applyFlags(letters, rest.slice(0, scoped[0].length));
        return;
      }
      this.frames.push({ ...outer, start: this.out.length, hasChoice: false, patternStart });
      this.applyFlags(letters, rest.slice(0, scoped[0].length));
      this.out += '(?:';
      this.atom = null;
      return;
    } else if (rest.startsWith('(?')) {
      throw new Re2Error(`unsupported group syntax \`${rest.slice(0, 3)}\``);
    } else {
      this.pos += 1;
    }
    this.frames.push({ ...outer, start: this.out.length, hasChoice: false, patternStart });
    this.out += opener;
    this.atom = null;
  }

  /** Applies `(?flags)` / `(?flags:` to the current group; `i` is only possible as a leading flag. */
  private applyFlags(letters: string, written: string): void {
    // As Go: at most one `-`, and it must be followed by a flag (`(?s-)`, `(?--s)` are refused).
    if (!/^[A-Za-z]*(?:-[A-Za-z]+)?$/.test(letters)) throw new Re2Error(`invalid or unsupported flags \`${written || letters}\``);
    let on = true;
    for (const letter of letters) {
      if (letter === '-') {
        on = false;
      } else if (letter === 's') {
        this.frame.dotAll = on;
      } else if (letter === 'm') {
        this.frame.multiLine = on;
      } else if (letter === 'i') {
        if (written !== '') throw new Re2Error(`\`${written}\`: case-insensitive matching must be switched on for the whole pattern, with (?i) at its start`);
      } else if (letter === 'U') {
        throw new Re2Error('the ungreedy flag (?U) is not supported; write lazy repetitions (*?, +?) instead');
      } else {
        throw new Re2Error(`invalid or unsupported flag \`${letter}\` in \`${written}\``);
      }
    }
  }

  private closeGroup(): void {
    if (this.frames.length === 1) throw new Re2Error('unexpected )');
    const inner = this.frames.pop() as Frame;
    this.pos += 1;
    this.out += ')';
    this.atom = { start: inner.start, kind: 'atom', ambiguous: inner.hasChoice, patternStart: inner.patternStart };
    if (inner.hasChoice) this.frame.hasChoice = true;
  }

  private braces(): void {
    // As Go: a count with a leading zero (`{01}`) is no count, and the braces are literal text.
    const match = /^\{(0|[1-9]\d*)(,(0|[1-9]\d*)?)?\}/.exec(this.pattern.slice(this.pos));
    if (match === null) {
      this.pos += 1;
      this.emitAtom('\\{');
      return;
    }
    const min = Number(match[1]);
    const max = match[2] === undefined ? min : match[3] === undefined ? Infinity : Number(match[3]);
    if (min > MAX_REPEAT || (max !== Infinity && (max > MAX_REPEAT || max < min))) {
      throw new Re2Error(`invalid repeat count \`${match[0]}\``);
    }
    this.repeat(match[0], max, match[0].length, min);
  }

  private repeat(operator: string, max: number, length: number, min = 0): void {
    const atom = this.atom;
    if (atom === null) throw new Re2Error(`missing argument to repetition operator \`${operator}\``);
    if (atom.kind === 'repeated') throw new Re2Error(`invalid nested repetition operator \`${operator}\``);
    this.pos += length;
    let written = operator;
    if (this.pattern[this.pos] === '?') {
      this.pos += 1;
      written += '?';
    }
    if (atom.kind === 'assertion') this.out = `${this.out.slice(0, atom.start)}(?:${this.out.slice(atom.start)})`;
    // A group that can match one text in several ways, repeated: a backtracking engine may try
    // every way of splitting the input between the repetitions (`(\w|\d)*`, `(a+)+`).
    if (atom.ambiguous && max > 1) this.riskyRepetition ??= this.pattern.slice(atom.patternStart, this.pos);
    // Several wide repetitions in a row (`.*/rooms/.*/state/.*`, `.{0,1000}.{0,1000}`) can each
    // take a large share of the subject: polynomial, of a degree high enough to hold a thread for
    // seconds. A count above the linear engine's own limit is as wide as unbounded here.
    if (max > LINEAR_ENGINE_MAX_COUNT) this.wideRepetitions += 1;
    const lazy = written.endsWith('?') && operator !== '?' ? '?' : '';
    const atomText = this.out.slice(atom.start);
    const counts = operator.startsWith('{') && !atomText.includes('(?<') ? splitCount(min, max) : [];
    // Split only while the copies stay few: the linear engine's time grows with the pattern's size
    // (four `.{0,1000}` split took 0.75 s on a 3 KB path); past the budget the count stays whole,
    // the pattern stays off the engine, and the risk check in `run` decides.
    if (counts.length > 1 && this.splitCopies + counts.length <= MAX_SPLIT_COPIES) {
      this.splitCopies += counts.length;
      this.out += counts.map((count, i) => `${i === 0 ? '' : atomText}${count}${lazy}`).join('');
    } else {
      this.out += written;
    }
    this.frame.hasChoice = true;
    this.atom = { start: atom.start, kind: 'repeated', ambiguous: atom.ambiguous, patternStart: atom.patternStart };
  }

  private escape(): void {
    const next = this.pattern[this.pos + 1];
    if (next === undefined) throw new Re2Error('trailing backslash at end of expression');
    switch (next) {
      case 'A':
        this.pos += 2;
        return this.emitAssertion('^');
      case 'z':
        this.pos += 2;
        return this.emitAssertion('$');
      case 'b': case 'B':
        this.pos += 2;
        this.hasWordBoundary = true;
        // Without the `u` flag JS also tries the position inside a surrogate pair, which is no
        // word boundary (both halves are non-word): `\B` must not match there (RE2 never stops there).
        if (next === 'B' && !this.unicode) return this.emitAssertion('(?:\\B(?![\\uDC00-\\uDFFF]))');
        return this.emitAssertion(`\\${next}`);
      case 'Q': return this.quoted();
      case 'C': throw new Re2Error('\\C (any byte) is not supported');
      default: {
        const set = this.classEscape();
        if (set !== null) return this.emitAtom(this.classText(set.ranges, set.properties, false));
        this.emitAtom(this.literal(this.escapedCodePoint()));
      }
    }
  }

  /** `\Q…\E`: everything up to `\E` (or the end) is literal. */
  private quoted(): void {
    this.pos += 2;
    const end = this.pattern.indexOf('\\E', this.pos);
    const stop = end === -1 ? this.pattern.length : end;
    while (this.pos < stop) this.emitAtom(this.literal(this.literalCodePoint()));
    this.pos = end === -1 ? stop : stop + 2;
  }

  /**
   * At a backslash: a class escape (`\d \D \s \S \w \W \pX \p{…} \PX \P{…}`) as a set, or null
   * (nothing consumed) when the escape is a single character.
   */
  private classEscape(): { ranges: CodeRange[]; properties: string[] } | null {
    const letter = this.pattern[this.pos + 1];
    if (letter === undefined) throw new Re2Error('trailing backslash at end of expression');
    const perl = PERL_CLASSES.get(letter.toLowerCase());
    if (perl !== undefined && 'dswDSW'.includes(letter)) {
      this.pos += 2;
      const negated = letter !== letter.toLowerCase();
      if (negated) this.hasNegation = true;
      // As RE2: under (?i) the class is folded first, then negated.
      const set = this.folded(perl);
      return { ranges: negated ? complementRanges(set, this.maxCodePoint()) : [...set], properties: [] };
    }
    if (letter !== 'p' && letter !== 'P') return null;
    if (!this.unicode) throw new NeedsUnicode();
    const braced = /^\\[pP]\{(\^?)([A-Za-z_]+)\}/.exec(this.pattern.slice(this.pos));
    const single = /^\\[pP]([A-Za-z])/.exec(this.pattern.slice(this.pos));
    const match = braced ?? single;
    if (match === null) throw new Re2Error(`invalid character class range \`${this.pattern.slice(this.pos, this.pos + 4)}\``);
    this.pos += match[0].length;
    const name = (braced === null ? match[1] : match[2]) as string;
    const negated = (letter === 'P') !== (braced !== null && match[1] === '^');
    if (negated) this.hasNegation = true;
    const body = name === 'Any' || GENERAL_CATEGORIES.has(name) ? name : `Script=${name}`;
    return { ranges: [], properties: [`\\${negated ? 'P' : 'p'}{${body}}`] };
  }

  /** At a backslash: the single character an escape stands for (RE2's rules), consumed. */
  private escapedCodePoint(): number {
    const rest = this.pattern.slice(this.pos + 1);
    if (rest === '') throw new Re2Error('trailing backslash at end of expression');
    const letter = rest[0] as string;
    const simple = SIMPLE_ESCAPES.get(letter);
    if (simple !== undefined) {
      this.pos += 2;
      return simple;
    }
    // RE2: \0, \0d, \0dd and \ddd-style octal with at least two digits; a single \1-\9 is a backreference.
    const octal = /^(?:0[0-7]{0,2}|[1-7][0-7]{1,2})/.exec(rest);
    if (octal !== null) {
      this.pos += 1 + octal[0].length;
      return Number.parseInt(octal[0], 8);
    }
    if (/^[1-9]/.test(rest)) throw new Re2Error(`backreferences (\\${letter}) are not supported (RE2 refuses them too)`);
    const hex = /^x(?:\{([0-9A-Fa-f]+)\}|([0-9A-Fa-f]{2}))/.exec(rest);
    if (hex !== null) {
      const cp = Number.parseInt(hex[1] ?? hex[2] ?? '', 16);
      if (cp > 0x10ffff) throw new Re2Error(`invalid escape sequence \`\\${hex[0]}\``);
      // A surrogate is half of a UTF-16 pair, not a character: it could match half of one here.
      if (cp >= 0xd800 && cp <= 0xdfff) throw new Re2Error(`\`\\${hex[0]}\` is a surrogate code point, not a character`);
      if (cp > 0xffff && !this.unicode) throw new NeedsUnicode();
      this.pos += 1 + hex[0].length;
      return cp;
    }
    const cp = letter.codePointAt(0) as number;
    if (cp < 0x80 && !/[0-9A-Za-z]/.test(letter)) {
      this.pos += 2;
      return cp;
    }
    throw new Re2Error(`invalid escape sequence \`\\${letter}\``);
  }

  /** Complements are taken over every code point, as RE2 means them; {@link classText} writes the astral part. */
  private maxCodePoint(): number {
    return 0x10ffff;
  }

  /**
   * A set of code points as JS source. With the `u` flag, a class. Without it, JS matches UTF-16
   * units: a set RE2 means to include the characters above U+FFFF (a complement: `.`, `[^…]`,
   * `\W`) also takes a whole surrogate pair, `(?:[\uD800-\uDBFF][\uDC00-\uDFFF]|[…])`, and never a
   * lone half; so `^.$` matches 😀 as in Go (fuzzing against Go found `.` and counts over it
   * matching halves). Astral characters named in the pattern need the `u` flag (a re-run).
   */
  private classText(ranges: readonly CodeRange[], properties: readonly string[], negated: boolean): string {
    if (this.unicode) return writeClass(ranges, properties, negated);
    const set = negated ? complementRanges(ranges, 0x10ffff) : mergeRanges(ranges);
    const bmp: CodeRange[] = [];
    let astral = false;
    for (const [lo, hi] of set) {
      if (hi > 0xffff) astral = true;
      for (const [from, to] of [[lo, Math.min(hi, 0xd7ff)], [Math.max(lo, 0xe000), Math.min(hi, 0xffff)]] as const) if (from <= to) bmp.push([from, to]);
    }
    if (astral && !set.some(([lo, hi]) => lo <= 0x10000 && hi >= 0x10ffff)) throw new NeedsUnicode();
    const units = writeClass(bmp, [], false);
    // The BMP part first: most subjects are ASCII, and the two alternatives never overlap.
    return astral ? `(?:${units}|[\\uD800-\\uDBFF][\\uDC00-\\uDFFF])` : units;
  }

  /** `[...]` with RE2's rules: a leading `]` is literal, `[:name:]` classes, ranges, escapes. */
  private charClass(): void {
    this.pos += 1;
    let negated = false;
    if (this.pattern[this.pos] === '^') {
      negated = true;
      this.hasNegation = true;
      this.pos += 1;
    }
    const ranges: CodeRange[] = [];
    const properties: string[] = [];
    let first = true;
    for (;;) {
      const c = this.pattern[this.pos];
      if (c === undefined) throw new Re2Error('missing closing ]');
      if (c === ']' && !first) break;
      first = false;
      const posix = /^\[:(\^?)([A-Za-z]+):\]/.exec(this.pattern.slice(this.pos));
      if (posix !== null) {
        const set = POSIX_CLASSES.get(posix[2] ?? '');
        if (set === undefined) throw new Re2Error(`invalid character class range \`${posix[0]}\``);
        if (posix[1] === '^') this.hasNegation = true;
        ranges.push(...(posix[1] === '^' ? complementRanges(this.folded(set), this.maxCodePoint()) : set));
        this.pos += posix[0].length;
        continue;
      }
      if (c === '\\') {
        if (this.pattern[this.pos + 1] === 'b' || this.pattern[this.pos + 1] === 'Q') {
          throw new Re2Error(`invalid escape sequence \`\\${this.pattern[this.pos + 1]}\` in a character class`);
        }
        const set = this.classEscape();
        if (set !== null) {
          ranges.push(...set.ranges);
          properties.push(...set.properties);
          continue;
        }
      }
      const lo = this.classCodePoint();
      if (this.pattern[this.pos] === '-' && this.pattern[this.pos + 1] !== ']' && this.pattern[this.pos + 1] !== undefined) {
        this.pos += 1;
        const hi = this.classCodePoint();
        if (hi < lo) throw new Re2Error(`invalid character class range \`${String.fromCodePoint(lo)}-${String.fromCodePoint(hi)}\``);
        ranges.push([lo, hi]);
      } else {
        ranges.push([lo, lo]);
      }
    }
    this.pos += 1;
    this.emitAtom(this.classText(this.folded(ranges), properties, negated));
  }

  private classCodePoint(): number {
    return this.pattern[this.pos] === '\\' ? this.escapedCodePoint() : this.literalCodePoint();
  }
}

/** RE2's single-letter escapes: `\a \f \t \n \r \v`. */
const SIMPLE_ESCAPES: ReadonlyMap<string, number> = new Map([
  ['a', 0x07], ['f', 0x0c], ['t', 0x09], ['n', 0x0a], ['r', 0x0d], ['v', 0x0b],
]);
