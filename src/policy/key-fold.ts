import { foldKey } from '../common/key-fold.js';

export { foldKey };

/** Field lookup of one object type: exact spelling first, then the folded form (Go's order). */
export interface FieldTable<F extends string> {
  readonly fields: readonly F[];
  /** Field name → its position in `fields`. */
  readonly exact: ReadonlyMap<string, number>;
  readonly folded: ReadonlyMap<string, number>;
}

/** Builds the lookup table for the canonical field names of one object type. */
export function fieldTable<F extends string>(fields: readonly F[]): FieldTable<F> {
  return {
    fields,
    exact: new Map(fields.map((field, index) => [field, index])),
    folded: new Map(fields.map((field, index) => [foldKey(field), index])),
  };
}

/** Position (in `table.fields`) of the field a JSON key decodes into, or undefined for an unknown key. */
export function lookupField<F extends string>(table: FieldTable<F>, key: string): number | undefined {
  return table.exact.get(key) ?? table.folded.get(foldKey(key));
}
