import { JSON_NUMBER_PATTERN, JSON_SIMPLE_ESCAPES, MAX_JSON_DEPTH, unexpectedCharacterMessage } from '../json-syntax.js';
import type { JsonEntry, JsonNode } from './json-tree.js';

/** A 1-based position in the source text (columns count UTF-16 code units). */
export interface TextPosition {
  line: number;
  column: number;
}

/**
 * Outcome of {@link parseJsonTree}. `trailingAt` is where non-blank text after the first value
 * starts (Go's `json.Decoder`, which matrix-corporal uses, stops after the first value and never
 * looks further, so such text is tolerated there).
 */
export type JsonParseResult =
  | { ok: true; node: JsonNode; trailingAt: TextPosition | null }
  | { ok: false; at: TextPosition; message: string };

class JsonSyntaxError extends Error {
  constructor(readonly offset: number, message: string) {
    super(message);
  }
}

/**
 * Parses strict JSON (RFC 8259, as Go's `encoding/json`: no comments, no trailing commas) into a
 * {@link JsonNode} tree. A leading byte-order mark is skipped. Never throws: a syntax error is
 * returned with its line and column.
 */
export function parseJsonTree(text: string): JsonParseResult {
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const parser = new Parser(text, start);
  try {
    parser.skipBlank();
    const node = parser.value(0);
    parser.skipBlank();
    const trailingAt = parser.pos < text.length ? positionOf(text, parser.pos) : null;
    return { ok: true, node, trailingAt };
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    return { ok: false, at: positionOf(text, err.offset), message: err.message };
  }
}

/** Line and column of a character offset. */
export function positionOf(text: string, offset: number): TextPosition {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line += 1;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

class Parser {
  constructor(private readonly text: string, public pos: number) {}

  skipBlank(): void {
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.pos += 1;
    }
  }

  value(depth: number): JsonNode {
    if (depth > MAX_JSON_DEPTH) throw new JsonSyntaxError(this.pos, `nesting deeper than ${MAX_JSON_DEPTH} levels`);
    const c = this.text[this.pos];
    switch (c) {
      case '{': return this.object(depth);
      case '[': return this.array(depth);
      case '"': return { kind: 'string', value: this.string() };
      case 't': return this.literal('true', { kind: 'boolean', value: true });
      case 'f': return this.literal('false', { kind: 'boolean', value: false });
      case 'n': return this.literal('null', { kind: 'null' });
      default:
        if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
        throw this.unexpected('a value');
    }
  }

  private object(depth: number): JsonNode {
    this.pos += 1;
    const entries: JsonEntry[] = [];
    this.skipBlank();
    if (this.text[this.pos] === '}') {
      this.pos += 1;
      return { kind: 'object', entries };
    }
    for (;;) {
      if (this.text[this.pos] !== '"') throw this.unexpected('a string key');
      const key = this.string();
      this.skipBlank();
      this.expect(':', "':' after an object key");
      this.skipBlank();
      entries.push({ key, value: this.value(depth + 1) });
      this.skipBlank();
      if (this.text[this.pos] === '}') {
        this.pos += 1;
        return { kind: 'object', entries };
      }
      this.expect(',', "',' or '}' after an object member");
      this.skipBlank();
    }
  }

  private array(depth: number): JsonNode {
    this.pos += 1;
    const items: JsonNode[] = [];
    this.skipBlank();
    if (this.text[this.pos] === ']') {
      this.pos += 1;
      return { kind: 'array', items };
    }
    for (;;) {
      items.push(this.value(depth + 1));
      this.skipBlank();
      if (this.text[this.pos] === ']') {
        this.pos += 1;
        return { kind: 'array', items };
      }
      this.expect(',', "',' or ']' after an array element");
      this.skipBlank();
    }
  }

  private string(): string {
    this.pos += 1;
    let out = '';
    let chunkStart = this.pos;
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (Number.isNaN(c)) throw new JsonSyntaxError(this.pos, 'unexpected end of input in a string');
      if (c === 0x22) {
        out += this.text.slice(chunkStart, this.pos);
        this.pos += 1;
        return out;
      }
      if (c < 0x20) throw new JsonSyntaxError(this.pos, 'control character in a string (escape it)');
      if (c === 0x5c) {
        out += this.text.slice(chunkStart, this.pos);
        out += this.escape();
        chunkStart = this.pos;
        continue;
      }
      this.pos += 1;
    }
  }

  /** Reads one escape sequence starting at the backslash. */
  private escape(): string {
    const letter = this.text[this.pos + 1];
    const simple = letter === undefined ? undefined : JSON_SIMPLE_ESCAPES.get(letter);
    if (simple !== undefined) {
      this.pos += 2;
      return simple;
    }
    if (letter !== 'u') throw new JsonSyntaxError(this.pos, 'invalid escape sequence in a string');
    const unit = this.hex4(this.pos + 2);
    this.pos += 6;
    if (unit < 0xd800 || unit > 0xdfff) return String.fromCharCode(unit);
    // Surrogates: a valid pair makes one character; a lone half becomes U+FFFD, as in Go.
    if (unit <= 0xdbff && this.text.startsWith('\\u', this.pos)) {
      const low = this.hex4(this.pos + 2);
      if (low >= 0xdc00 && low <= 0xdfff) {
        this.pos += 6;
        return String.fromCharCode(unit, low);
      }
    }
    return '\ufffd';
  }

  private hex4(at: number): number {
    const digits = this.text.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) throw new JsonSyntaxError(at, 'invalid \\u escape (four hex digits expected)');
    return Number.parseInt(digits, 16);
  }

  private number(): JsonNode {
    JSON_NUMBER_PATTERN.lastIndex = this.pos;
    const match = JSON_NUMBER_PATTERN.exec(this.text);
    if (!match) throw new JsonSyntaxError(this.pos, 'invalid number');
    const raw = match[0];
    const next = this.text[this.pos + raw.length];
    if (next !== undefined && /[0-9.eE+-]/.test(next)) throw new JsonSyntaxError(this.pos + raw.length, 'invalid number');
    this.pos += raw.length;
    return { kind: 'number', value: Number(raw), raw };
  }

  private literal(word: string, node: JsonNode): JsonNode {
    if (!this.text.startsWith(word, this.pos)) throw this.unexpected('a value');
    this.pos += word.length;
    return node;
  }

  private expect(char: string, what: string): void {
    if (this.text[this.pos] !== char) throw this.unexpected(what);
    this.pos += 1;
  }

  private unexpected(expected: string): JsonSyntaxError {
    return new JsonSyntaxError(this.pos, unexpectedCharacterMessage(this.text, this.pos, expected));
  }
}
