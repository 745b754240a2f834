/** A 1-based line and column (in UTF-16 code units) in a text. */
export interface LinePosition {
  line: number;
  column: number;
}

/**
 * Line and column of offsets into one text, asked for in ascending order: each newline is looked
 * for once, so positions for any number of offsets cost one pass over the text. (Looking for the
 * next newline from scratch at each offset read a long last line again for every warning on it:
 * quadratic, minutes for a few MiB with a warning every few characters.)
 */
export class LineCounter {
  private line = 1;
  private lineStart = 0;
  private nextNewline: number;

  constructor(private readonly text: string) {
    this.nextNewline = text.indexOf('\n');
  }

  /** The position of `offset`; an offset below the previous one starts the count again from the top. */
  at(offset: number): LinePosition {
    if (offset < this.lineStart) {
      this.line = 1;
      this.lineStart = 0;
      this.nextNewline = this.text.indexOf('\n');
    }
    while (this.nextNewline !== -1 && this.nextNewline < offset) {
      this.line += 1;
      this.lineStart = this.nextNewline + 1;
      this.nextNewline = this.text.indexOf('\n', this.lineStart);
    }
    return { line: this.line, column: offset - this.lineStart + 1 };
  }
}
