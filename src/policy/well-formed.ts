import { _, type KeywordCxt, type KeywordDefinition } from 'ajv';
import type { IssueSink } from './findings.js';
import { childPointer } from './issues.js';

/**
 * Why every string of a policy must be well-formed UTF-16: a lone surrogate (JSON `"\uD800"`
 * without its pair) has no UTF-8 form. Synapse answers 500 to a display name holding one, and the
 * reconciler retried for good (red team 11, F6); a header, a hook's answer or a hashed password
 * would be as broken. No text a person writes needs one, so the policy is refused wherever it is.
 */
export const ILL_FORMED_MESSAGE = 'must be well-formed Unicode text: it has a lone surrogate (a \\uD800–\\uDFFF escape without its pair)';

const ILL_FORMED_KEY_MESSAGE = 'a key in this object must be well-formed Unicode text: it has a lone surrogate (a \\uD800–\\uDFFF escape without its pair)';

/**
 * The ajv keyword `wellFormed: true`: a string value has no lone surrogate. Inline code, so that
 * the schema check of a valid document stays one pass without a call per string.
 */
export const WELL_FORMED_KEYWORD: KeywordDefinition = {
  keyword: 'wellFormed',
  type: 'string',
  schemaType: 'boolean',
  code(cxt: KeywordCxt) {
    cxt.fail(_`!${cxt.data}.isWellFormed()`);
  },
};

/** `String.prototype.isWellFormed` (ES2024, in Node 20; the project's TypeScript lib is ES2023). */
export function isWellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/**
 * Checks free-form JSON (a hook's payload or injected JSON, which the schema does not descend):
 * one error per string that is not well-formed, at its pointer, and one per object with such a
 * key, at the object (the key itself would put the lone surrogate into the pointer). Iterative.
 */
export function checkWellFormedJson(value: unknown, pointer: string, errors: IssueSink): void {
  const stack: [unknown, string][] = [[value, pointer]];
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    const [item, at] = entry;
    if (typeof item === 'string') {
      if (!isWellFormed(item)) errors.push({ pointer: at, message: ILL_FORMED_MESSAGE });
      continue;
    }
    if (typeof item !== 'object' || item === null) continue;
    if (Array.isArray(item)) {
      for (let index = item.length - 1; index >= 0; index -= 1) stack.push([item[index], `${at}/${index}`]);
      continue;
    }
    const keys = Object.keys(item);
    if (!keys.every(isWellFormed)) errors.push({ pointer: at, message: ILL_FORMED_KEY_MESSAGE });
    for (let index = keys.length - 1; index >= 0; index -= 1) {
      const key = keys[index] as string;
      stack.push([(item as Record<string, unknown>)[key], isWellFormed(key) ? childPointer(at, key) : at]);
    }
  }
}
