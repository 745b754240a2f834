import { randomUUID } from 'node:crypto';

/**
 * Reads a JSON object with one large array field — `{"state": [ … ], …}`, Synapse's admin answer
 * for a room's state — element by element as the bytes arrive, keeping only what the caller asks
 * for from each element. Why: the whole answer of a busy room (or one that members swelled on
 * purpose, red team 22, F1: invitations with 64 KiB reasons) can run to hundreds of MiB, and a
 * whole-body bound then made the room unreadable, so the reconciler stopped enforcing it. Here
 * only one element at a time (at most `maxElementBytes`) and the object's other fields (at most
 * `maxOtherBytes`) are ever held; the total is bounded by `maxTotalBytes` and, for calls, by
 * their deadline.
 *
 * A plain byte scanner: JSON's structural characters are ASCII, and no byte of a multi-byte UTF-8
 * sequence is below 0x80, so strings are tracked by their quotes and backslash escapes alone. Each
 * element is then parsed by `JSON.parse`, and so is the rest of the object, with a marker of this
 * call in place of the array, which must come back as the field's one value: anything that is not
 * well-formed JSON fails, and so does a repeated key. Except, with `shallow`, inside the values
 * skipped within an element: they are only scanned for their strings and brackets (their own
 * closing bracket must match their opening one), never parsed.
 */

/** Options of {@link readArrayField}. */
export interface ArrayFieldOptions<T> {
  /** The key of the array in the top-level object. */
  key: string;
  /** Largest element accepted, in bytes. */
  maxElementBytes: number;
  /** Largest total of the object's other bytes (its other fields, the punctuation). */
  maxOtherBytes: number;
  /** Largest whole answer, in bytes. */
  maxTotalBytes: number;
  /** Most elements accepted (kept or not): what is kept stays in memory. */
  maxElements: number;
  /** What to keep of one parsed element; `undefined` drops it. */
  keep: (element: unknown) => T | undefined;
  /**
   * Read each element's own fields only: every object or array nested in an element is skipped as
   * it streams past and reaches `keep` empty (`{}` or `[]`), so `maxElementBytes` bounds what is
   * left. For callers that need an element's identifiers, not its payload, when the payload's size
   * is someone else's choice (a delayed event's content: Synapse stores any size).
   */
  shallow?: boolean;
}

/** Thrown when the answer is not a JSON object with the array field, or is malformed. */
export class ArrayFieldFormatError extends Error {
  override readonly name = 'ArrayFieldFormatError';
}

/** Thrown when a bound of {@link ArrayFieldOptions} is exceeded; `limit` is the bound. */
export class ArrayFieldLimitError extends Error {
  override readonly name = 'ArrayFieldLimitError';
  constructor(message: string, readonly limit: number) {
    super(message);
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
/** The nesting depth of the target array (inside the answer's object), and of its elements. */
const ARRAY_DEPTH = 2;
const ELEMENT_DEPTH = 3;

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** Where the scanner is relative to the target array. */
const enum Slot {
  /** Not inside the target array. */
  Outside,
  /** Right after its `[`: an element or `]` comes next. */
  Start,
  /** After a `,`: an element comes next. */
  BeforeElement,
  /** Inside an element. */
  InElement,
  /** After an element: `,` or `]` comes next. */
  AfterElement,
}

/**
 * The top-level object of `body`, with its array field `options.key` replaced by what
 * `options.keep` returned for each element, in order (elements it returned `undefined` for left
 * out). The array's elements must be objects. Rejects with {@link ArrayFieldFormatError} or
 * {@link ArrayFieldLimitError} at the first problem, without reading further (the caller discards
 * the rest of the body).
 */
export async function readArrayField<T>(body: AsyncIterable<Uint8Array>, options: ArrayFieldOptions<T>): Promise<Record<string, unknown>> {
  const kept: T[] = [];
  const other = new GrowingBytes();
  let totalBytes = 0;
  const element = new GrowingBytes();
  let depth = 0;
  /** Inside a value nested in an element, with `options.shallow`: its bytes are not held. */
  let skipping = false;
  const shallow = options.shallow === true;
  let inString = false;
  let escaped = false;
  let slot = Slot.Outside;
  let arraysFound = 0;
  const markerText = `corporal-array-field-${randomUUID()}`;
  const marker = Buffer.from(JSON.stringify(markerText));
  // The target array is the value of the key: `{` or `,`, the quoted key, `:`, then its `[`.
  const keyBefore = new RegExp(`[{,]\\s*${escapeRegExp(JSON.stringify(options.key))}\\s*:\\s*$`);
  // Only the end of what came before is tested (a few bytes of whitespace around the key allowed),
  // so that an answer with many other arrays costs no more than one pass over it.
  const keyTailBytes = Buffer.byteLength(JSON.stringify(options.key)) + 256;

  const addOther = (bytes: Uint8Array): void => {
    if (other.length + bytes.length > options.maxOtherBytes) throw new ArrayFieldLimitError(`the answer's fields besides "${options.key}" exceed ${options.maxOtherBytes} bytes`, options.maxOtherBytes);
    other.append(bytes);
  };
  const addElementPart = (bytes: Uint8Array): void => {
    if (element.length + bytes.length > options.maxElementBytes) throw new ArrayFieldLimitError(`an element of "${options.key}" exceeds ${options.maxElementBytes} bytes`, options.maxElementBytes);
    element.append(bytes);
  };
  let elements = 0;
  const finishElement = (): void => {
    elements++;
    if (elements > options.maxElements) throw new ArrayFieldLimitError(`"${options.key}" has more than ${options.maxElements} elements`, options.maxElements);
    let parsed: unknown;
    try {
      parsed = JSON.parse(element.text()) as unknown;
    } catch {
      throw new ArrayFieldFormatError(`an element of "${options.key}" is not JSON`);
    }
    element.clear();
    const value = options.keep(parsed);
    if (value !== undefined) kept.push(value);
  };

  for await (const chunk of body) {
    totalBytes += chunk.length;
    if (totalBytes > options.maxTotalBytes) throw new ArrayFieldLimitError(`the answer exceeds ${options.maxTotalBytes} bytes`, options.maxTotalBytes);
    // Where the bytes not yet handed to `other` or to the element begin in this chunk.
    let from = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (byte === BACKSLASH) escaped = true;
        else if (byte === QUOTE) inString = false;
        continue;
      }
      if (slot === Slot.Outside || slot === Slot.InElement) {
        if (byte === QUOTE) inString = true;
        else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
          depth++;
          // A value opened inside an element is skipped whole.
          if (shallow && slot === Slot.InElement && depth === ELEMENT_DEPTH + 1) {
            addElementPart(chunk.subarray(from, i + 1));
            skipping = true;
          }
          if (slot === Slot.Outside && byte === OPEN_ARRAY && depth === ARRAY_DEPTH) {
            addOther(chunk.subarray(from, i + 1));
            from = i + 1;
            if (keyBefore.test(other.tailText(keyTailBytes).slice(0, -1))) {
              arraysFound++;
              slot = Slot.Start;
            }
          }
        } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
          depth--;
          if (depth < 0) throw new ArrayFieldFormatError('the answer is not a JSON object');
          if (skipping && depth === ELEMENT_DEPTH) {
            // Its closing bracket is kept: the element reads on as if the value had been empty.
            skipping = false;
            from = i;
          }
          if (slot === Slot.InElement && depth === ARRAY_DEPTH) {
            addElementPart(chunk.subarray(from, i + 1));
            from = i + 1;
            finishElement();
            slot = Slot.AfterElement;
          }
        }
        continue;
      }
      // Between the target array's elements: whitespace, one `,` between two elements, the `]`.
      if (isWhitespace(byte)) {
        from = i + 1;
      } else if (byte === CLOSE_ARRAY && (slot === Slot.Start || slot === Slot.AfterElement)) {
        depth--;
        // The emptied array holds this call's marker, so that only this array can be the field
        // read back below: a repeated key (say one spelt with a `\u` escape) replaces it.
        addOther(marker);
        from = i;
        slot = Slot.Outside;
      } else if (byte === COMMA && slot === Slot.AfterElement) {
        from = i + 1;
        slot = Slot.BeforeElement;
      } else if (byte === OPEN_OBJECT && (slot === Slot.Start || slot === Slot.BeforeElement)) {
        depth++;
        from = i;
        slot = Slot.InElement;
      } else {
        throw new ArrayFieldFormatError(`unexpected "${String.fromCharCode(byte)}" in "${options.key}" (its elements must be objects)`);
      }
    }
    if (slot === Slot.InElement) {
      if (!skipping) addElementPart(chunk.subarray(from));
    }
    else if (slot === Slot.Outside) addOther(chunk.subarray(from));
  }
  if (slot !== Slot.Outside || inString || depth !== 0) throw new ArrayFieldFormatError('the answer ends early');
  if (arraysFound !== 1) throw new ArrayFieldFormatError(`the answer has ${arraysFound === 0 ? 'no' : 'more than one'} "${options.key}" array`);
  let rest: unknown;
  try {
    rest = JSON.parse(other.text()) as unknown;
  } catch {
    throw new ArrayFieldFormatError('the answer is not JSON');
  }
  if (typeof rest !== 'object' || rest === null || Array.isArray(rest)) throw new ArrayFieldFormatError('the answer is not a JSON object');
  const fields = rest as Record<string, unknown>;
  // The emptied array must be the field asked for (a repeated key would have replaced it).
  const placeholder = fields[options.key];
  if (!Array.isArray(placeholder) || placeholder.length !== 1 || placeholder[0] !== markerText) throw new ArrayFieldFormatError(`the answer has no single "${options.key}" array`);
  fields[options.key] = kept;
  return fields;
}

/**
 * Bytes appended piece by piece into one buffer that doubles as it fills: however small the
 * pieces (an answer trickling in a byte at a time), they cost their bytes, not an object each.
 */
class GrowingBytes {
  #buffer = Buffer.allocUnsafe(256);
  length = 0;

  append(bytes: Uint8Array): void {
    if (this.length + bytes.length > this.#buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.length + bytes.length));
      this.#buffer.copy(grown, 0, 0, this.length);
      this.#buffer = grown;
    }
    this.#buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** Empties it, keeping its buffer. */
  clear(): void {
    this.length = 0;
  }

  /** The whole content as UTF-8 text. */
  text(): string {
    return this.#buffer.toString('utf8', 0, this.length);
  }

  /** The last `bytes` bytes (or all, when fewer) as UTF-8 text. */
  tailText(bytes: number): string {
    return this.#buffer.toString('utf8', Math.max(0, this.length - bytes), this.length);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
