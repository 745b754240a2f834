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
 * key, at the object (the key itself would put the lone surrogate into the pointer).
 *
 * Recursive to at most `maxDepth` levels (deeper JSON is refused by the depth check anyway), so
 * memory is bounded by that depth however wide the value: an explicit stack of every pending
 * member would hold each element of a long array at once, with its pointer.
 */
export function checkWellFormedJson(value: unknown, pointer: string, errors: IssueSink, maxDepth: number): void {
  walk(value, pointer, null, errors, maxDepth);
}

/** `token` (null: none) extends `parent` to the value's pointer, built only when it is needed. */
function walk(value: unknown, parent: string, token: string | number | null, errors: IssueSink, depthLeft: number): void {
  if (typeof value === 'string') {
    if (!isWellFormed(value)) errors.push({ pointer: token === null ? parent : childPointer(parent, token), message: ILL_FORMED_MESSAGE });
    return;
  }
  if (typeof value !== 'object' || value === null || depthLeft <= 0) return;
  const pointer = token === null ? parent : childPointer(parent, token);
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) walk(value[index], pointer, index, errors, depthLeft - 1);
    return;
  }
  let illFormedKey = false;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const wellFormed = isWellFormed(key);
    illFormedKey ||= !wellFormed;
    walk((value as Record<string, unknown>)[key], pointer, wellFormed ? key : null, errors, depthLeft - 1);
  }
  if (illFormedKey) errors.push({ pointer, message: ILL_FORMED_KEY_MESSAGE });
}
