import { JSON_NUMBER_PATTERN, JSON_SIMPLE_ESCAPES, MAX_JSON_DEPTH, unexpectedCharacterMessage } from '../common/json-syntax.js';
import { IssueList, type IssueSink } from './findings.js';
import { childPointer, type PolicyIssue } from './issues.js';
import { LineCounter } from './line-counter.js';

/**
 * Outcome of {@link parsePolicyText}: the JSON value and warnings (one per tolerated trailing
 * comma, byte-order mark or repeated key, bounded as `IssueList.report` bounds them), or the
 * first syntax error with its line and column.
 */
export type ParseResult =
  | { ok: true; value: unknown; warnings: PolicyIssue[] }
  | { ok: false; error: PolicyIssue };

/** Outcome of {@link parsePolicyTextInto}: the warnings went to the sink. */
export type ParseOutcome =
  | { ok: true; value: unknown }
  | { ok: false; error: PolicyIssue };

/**
 * Parses policy text as JSON, tolerating what hand-edited policies commonly contain and
 * matrix-corporal's README example has: a trailing comma before `]` or `}` (a warning names its
 * line and column). A leading byte-order mark is skipped with a warning. Everything else must be
 * strict RFC 8259 JSON; the first violation is returned with its line and column.
 *
 * A key repeated within one object counts at its last place, with its last value, as Go's
 * `encoding/json` reads members in document order (so a case variant between the two,
 * `"active":false,"Active":true,"active":false`, is overridden as in Go); a later `null` counts as
 * absent and leaves the earlier value. Go differs in two corners it cannot avoid knowing the field
 * type for: a later `null` resets a list or pointer field there, and an object written twice is
 * merged into the first. Each repetition is a warning naming its line, so such text gets fixed.
 *
 * Strict JSON goes through `JSON.parse` (fast); only text it refuses, or text that may repeat a key
 * (`JSON.parse` would keep the first position), is re-read by a small recursive-descent parser,
 * which produces the values or the precise error. Never throws.
 */
export function parsePolicyText(text: string): ParseResult {
  const warnings = new IssueList();
  const parsed = parsePolicyTextInto(text, warnings);
  return parsed.ok ? { ok: true, value: parsed.value, warnings: warnings.report('warnings') } : parsed;
}

/**
 * {@link parsePolicyText}, putting the warnings into `warnings`, in document order, as they are
 * found (after a syntax error the sink may hold warnings about the text before it).
 */
export function parsePolicyTextInto(text: string, warnings: IssueSink): ParseOutcome {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return new TolerantParser(text, warnings).parseDocument();
  }
  const parsedKeys = ownKeyCount(value);
  // The quick bound first; only text with `":` inside some string needs the exact count.
  if (keyEndMarkers(text) > parsedKeys && keysInText(text) > parsedKeys) {
    value = undefined; // not kept alive while the second parse builds its own copy
    return new TolerantParser(text, warnings).parseDocument();
  }
  return { ok: true, value };
}

/**
 * An upper bound on the number of object keys in JSON text: every key ends with `"`, optional
 * blanks and `:`, and only string contents can add more.
 */
function keyEndMarkers(text: string): number {
  const marker = /"[ \t\n\r]*:/g;
  let count = 0;
  while (marker.exec(text) !== null) count += 1;
  return count;
}

/**
 * The number of object keys in valid JSON text: every string is matched from its opening quote
 * (outside strings JSON has no `"`, so each match starts where a string does), and a key is a
 * string followed by `:`. Greater than the parsed value's key count exactly when a key is
 * repeated in some object (`JSON.parse` keeps one property for it).
 */
function keysInText(text: string): number {
  const string = /"(?:[^"\\]|\\.)*"([ \t\n\r]*:)?/g;
  let count = 0;
  for (let match = string.exec(text); match !== null; match = string.exec(text)) if (match[1] !== undefined) count += 1;
  return count;
}

/** Own keys of every object in a parsed JSON value (iterative: the value may be deeply nested). */
function ownKeyCount(root: unknown): number {
  let count = 0;
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const node = pending.pop();
    if (typeof node !== 'object' || node === null) continue;
    if (Array.isArray(node)) {
      for (const element of node) if (typeof element === 'object' && element !== null) pending.push(element);
      continue;
    }
    for (const key in node) {
      count += 1;
      const member = (node as Record<string, unknown>)[key];
      if (typeof member === 'object' && member !== null) pending.push(member);
    }
  }
  return count;
}

class SyntaxFailure extends Error {
  constructor(readonly offset: number, readonly pointer: string, message: string) {
    super(message);
  }
}

class TolerantParser {
  private pos = 0;
  /** Warnings are found in document order (see `object`), so their positions take one pass. */
  private readonly lines: LineCounter;

  constructor(private readonly text: string, private readonly warnings: IssueSink) {
    this.lines = new LineCounter(text);
  }

  parseDocument(): ParseOutcome {
    try {
      if (this.text.charCodeAt(0) === 0xfeff) {
        this.warn(0, '', 'byte-order mark at the start of the policy ignored');
        this.pos = 1;
      }
      this.skipBlank();
      if (this.pos >= this.text.length) throw new SyntaxFailure(this.pos, '', 'the policy is empty');
      const value = this.value('', 0);
      this.skipBlank();
      if (this.pos < this.text.length) throw this.unexpected('', 'the end of the document');
      return { ok: true, value };
    } catch (err) {
      if (!(err instanceof SyntaxFailure)) throw err;
      const at = new LineCounter(this.text).at(err.offset);
      return { ok: false, error: { pointer: err.pointer, message: err.message, ...at } };
    }
  }

  private warn(offset: number, pointer: string, message: string): void {
    this.warnings.push({ pointer, message, ...this.lines.at(offset) });
  }

  private skipBlank(): void {
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.pos += 1;
    }
  }

  private value(pointer: string, depth: number): unknown {
    if (depth > MAX_JSON_DEPTH) throw new SyntaxFailure(this.pos, pointer, `nesting deeper than ${MAX_JSON_DEPTH} levels`);
    const c = this.text[this.pos];
    switch (c) {
      case '{': return this.object(pointer, depth);
      case '[': return this.array(pointer, depth);
      case '"': return this.string(pointer);
      case 't': return this.literal('true', true, pointer);
      case 'f': return this.literal('false', false, pointer);
      case 'n': return this.literal('null', null, pointer);
      default:
        if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number(pointer);
        throw this.unexpected(pointer, 'a value');
    }
  }

  private object(pointer: string, depth: number): Record<string, unknown> {
    this.pos += 1;
    const out: Record<string, unknown> = {};
    this.skipBlank();
    if (this.text[this.pos] === '}') {
      this.pos += 1;
      return out;
    }
    for (;;) {
      if (this.text[this.pos] !== '"') throw this.unexpected(pointer, 'a string key');
      const keyOffset = this.pos;
      const key = this.string(pointer);
      this.skipBlank();
      this.expect(':', "':' after an object key", pointer);
      this.skipBlank();
      const repeated = Object.hasOwn(out, key);
      // Warned before the value is read, so that warnings come in document order (a warning
      // inside the value comes after); a later `null` is known by its first letters.
      if (repeated) this.warnRepeatedKey(key, keyOffset, pointer, this.text.startsWith('null', this.pos));
      const member = this.value(childPointer(pointer, key), depth + 1);
      if (repeated) this.repeatMember(out, key, member);
      // `__proto__` must become an own property (as with JSON.parse), never the prototype.
      else Object.defineProperty(out, key, { value: member, writable: true, enumerable: true, configurable: true });
      this.skipBlank();
      if (this.text[this.pos] === '}') {
        this.pos += 1;
        return out;
      }
      this.expect(',', "',' or '}' after an object member", pointer);
      if (this.trailingComma('}', pointer)) return out;
    }
  }

  private array(pointer: string, depth: number): unknown[] {
    this.pos += 1;
    const out: unknown[] = [];
    this.skipBlank();
    if (this.text[this.pos] === ']') {
      this.pos += 1;
      return out;
    }
    for (;;) {
      out.push(this.value(childPointer(pointer, out.length), depth + 1));
      this.skipBlank();
      if (this.text[this.pos] === ']') {
        this.pos += 1;
        return out;
      }
      this.expect(',', "',' or ']' after an array element", pointer);
      if (this.trailingComma(']', pointer)) return out;
    }
  }

  /**
   * A key already present in this object: Go decodes members in document order, so the later value
   * replaces the earlier one and also overrides any case variant of the key written in between;
   * moving the key to the end reproduces that for the case-insensitive field matching that follows.
   * A later `null` leaves the earlier value where it was, as `null` never changes a Go field.
   */
  private repeatMember(out: Record<string, unknown>, key: string, member: unknown): void {
    if (member === null) return;
    delete out[key];
    Object.defineProperty(out, key, { value: member, writable: true, enumerable: true, configurable: true });
  }

  private warnRepeatedKey(key: string, offset: number, pointer: string, laterIsNull: boolean): void {
    const effect = laterIsNull ? 'the later `null` changes nothing' : 'the later value wins';
    this.warn(offset, childPointer(pointer, key), `key \`${key}\` repeated in this object; ${effect}`);
  }

  /** After a comma: if the container closes right away, records the warning and consumes the closer. */
  private trailingComma(closer: string, pointer: string): boolean {
    const commaAt = this.pos - 1;
    this.skipBlank();
    if (this.text[this.pos] !== closer) return false;
    this.warn(commaAt, pointer, `trailing comma before '${closer}' ignored (not valid JSON)`);
    this.pos += 1;
    return true;
  }

  /**
   * A string literal, checked character by character; its value is then made in one piece: a slice
   * of the text, or, when it has escapes, `JSON.parse` of the literal (valid once checked). Building
   * it piece by piece, one concatenation per escape, held a rope node per escape — 16 B per
   * character of `\n\n…`, enough to exhaust the heap with text the memory estimate let through
   * (verification round 13, F1).
   */
  private string(pointer: string): string {
    const open = this.pos;
    this.pos += 1;
    let escaped = false;
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (Number.isNaN(c)) throw new SyntaxFailure(this.pos, pointer, 'unexpected end of input in a string');
      if (c === 0x22) {
        this.pos += 1;
        const literal = this.text.slice(open, this.pos);
        return escaped ? (JSON.parse(literal) as string) : literal.slice(1, -1);
      }
      if (c < 0x20) throw new SyntaxFailure(this.pos, pointer, 'control character in a string (escape it)');
      if (c === 0x5c) {
        this.skipEscape(pointer);
        escaped = true;
        continue;
      }
      this.pos += 1;
    }
  }

  /** Checks the escape sequence at the current position and moves past it. */
  private skipEscape(pointer: string): void {
    const letter = this.text[this.pos + 1];
    if (letter !== undefined && JSON_SIMPLE_ESCAPES.has(letter)) {
      this.pos += 2;
      return;
    }
    if (letter !== 'u') throw new SyntaxFailure(this.pos, pointer, 'invalid escape sequence in a string');
    const digits = this.text.slice(this.pos + 2, this.pos + 6);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) throw new SyntaxFailure(this.pos, pointer, 'invalid \\u escape (four hex digits expected)');
    this.pos += 6;
  }

  private number(pointer: string): number {
    JSON_NUMBER_PATTERN.lastIndex = this.pos;
    const match = JSON_NUMBER_PATTERN.exec(this.text);
    const raw = match?.[0] ?? '';
    const next = this.text[this.pos + raw.length];
    if (raw === '' || raw === '-' || (next !== undefined && /[0-9.eE+-]/.test(next))) {
      throw new SyntaxFailure(this.pos, pointer, 'invalid number');
    }
    this.pos += raw.length;
    return Number(raw);
  }

  private literal<T>(word: string, value: T, pointer: string): T {
    if (!this.text.startsWith(word, this.pos)) throw this.unexpected(pointer, 'a value');
    this.pos += word.length;
    return value;
  }

  private expect(char: string, what: string, pointer: string): void {
    if (this.text[this.pos] !== char) throw this.unexpected(pointer, what);
    this.pos += 1;
  }

  private unexpected(pointer: string, expected: string): SyntaxFailure {
    return new SyntaxFailure(this.pos, pointer, unexpectedCharacterMessage(this.text, this.pos, expected));
  }
}

