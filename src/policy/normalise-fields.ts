import type { FindingsSink } from './findings.js';
import { childPointer } from './issues.js';
import { fieldTable, foldKey, lookupField, type FieldTable } from './key-fold.js';

/** Findings collected while normalising, plus the pointer aliases of synthesised nodes. */
export interface NormaliseContext extends FindingsSink {
  /** Pointer of a match rule made from a shorthand key → pointer of that key. */
  shorthandRules: Map<string, string>;
}

/** A fresh {@link NormaliseContext} writing to `findings`. */
export function normaliseContext(findings: FindingsSink): NormaliseContext {
  return { errors: findings.errors, warnings: findings.warnings, shorthandRules: new Map() };
}

/** The known fields of one object type, and legacy keys that are dropped without a warning. */
export interface ObjectShape<F extends string> {
  /** At most 31 fields: presence is tracked in a bit mask. */
  table: FieldTable<F>;
  silentlyDropped: ReadonlySet<string>;
}

/** Builds an {@link ObjectShape}; `legacy` keys are matched case-insensitively too. */
export function objectShape<F extends string>(fields: readonly F[], legacy: readonly string[] = []): ObjectShape<F> {
  return { table: fieldTable(fields), silentlyDropped: new Set(legacy.map(foldKey)) };
}


/**
 * Reads the members of one JSON object the way Go's `encoding/json` decodes a struct: each key
 * goes to the field of the same name (exact spelling first, else case-insensitively), in document
 * order, so when several keys land on one field the last one wins (with a warning); `null` leaves a
 * field as it was (Go: "null has no effect"). Unknown keys are ignored with a warning naming their
 * pointer. Values are written into `target`, whose other properties stay as given (the defaults).
 */
export function readFieldsInto<F extends string, T extends Partial<Record<F, unknown>>>(
  raw: Record<string, unknown>,
  shape: ObjectShape<F>,
  target: T,
  pointer: () => string,
  context: NormaliseContext,
): T {
  const { table } = shape;
  let seen = 0;
  let firstKeys: Map<number, string> | undefined;
  for (const key in raw) {
    if (!Object.hasOwn(raw, key)) continue;
    const index = lookupField(table, key);
    if (index === undefined) {
      if (!shape.silentlyDropped.has(foldKey(key))) {
        context.warnings.push({ pointer: childPointer(pointer(), key), message: `unknown key \`${key}\` ignored` });
      }
      continue;
    }
    const value = raw[key];
    if (value === null) continue;
    if ((seen & (1 << index)) !== 0) {
      // Looked up once per object: finding the earlier key at each repeat read all the keys again,
      // quadratic in an object of case variants (authCredential alone has 2^14).
      firstKeys ??= firstKeyPerField(raw, table);
      context.warnings.push({
        pointer: childPointer(pointer(), key),
        message: `\`${key}\` sets the same field as \`${firstKeys.get(index) ?? key}\` earlier in this object; the later value wins`,
      });
    }
    seen |= 1 << index;
    (target as Record<string, unknown>)[table.fields[index] as string] = value;
  }
  return target;
}

/** {@link readFieldsInto} a fresh object: absent fields are undefined. */
export function readFields<F extends string>(
  raw: Record<string, unknown>,
  shape: ObjectShape<F>,
  pointer: () => string,
  context: NormaliseContext,
): Partial<Record<F, unknown>> {
  return readFieldsInto(raw, shape, {}, pointer, context);
}

/** Field position → the first key (in document order, null values skipped) that sets it. */
function firstKeyPerField<F extends string>(raw: Record<string, unknown>, table: FieldTable<F>): Map<number, string> {
  const first = new Map<number, string>();
  for (const key in raw) {
    if (!Object.hasOwn(raw, key) || raw[key] === null) continue;
    const index = lookupField(table, key);
    if (index !== undefined && !first.has(index)) first.set(index, key);
  }
  return first;
}
