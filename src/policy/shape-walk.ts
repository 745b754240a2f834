import { Ajv, type ErrorObject, type KeywordDefinition, type SchemaObject, type ValidateFunction } from 'ajv';
import { COUNTED_ONLY, type IssueSink } from './findings.js';
import { childPointer } from './issues.js';

/** Checks a value against a compiled schema and pushes one issue per mismatch into `errors`. */
export type ShapeCheck = (value: unknown, errors: IssueSink) => void;

/** The message of one ajv error about `value` (the value the error is about, not the root). */
export type ShapeMessage = (error: ErrorObject, value: unknown) => string;

/** Keywords that apply to the value they are on; each schema node is checked for these alone. */
const OWN_KEYWORDS: readonly string[] = ['type', 'minimum', 'maximum'];

interface ShapeNode {
  /** The node's schema, `$ref`s resolved (with the root's `$defs` when they are needed). */
  subtree: SchemaObject;
  /**
   * The whole subtree, checked without `allErrors` (it stops at the first error), for the root and
   * array elements that have children; null otherwise. Not on every node: each check above a value
   * may list an object's keys again before it fails (`for…in` collects them all first).
   */
  whole: LazyValidator | null;
  /** The node's own keywords; null when it has none (`{}`). */
  own: LazyValidator | null;
  properties: [string, ShapeNode][];
  items: ShapeNode | null;
  additionalProperties: ShapeNode | null;
}

/**
 * An ajv validator compiled on first use. Only the root's whole-schema validator is needed for a
 * valid document; the others only once something is invalid, so they do not slow down start-up
 * (each compile of a subtree with hooks compiles the nested hook definition again).
 */
class LazyValidator {
  private compiled: ValidateFunction | undefined;

  constructor(private readonly ajv: Ajv, private readonly schema: SchemaObject) {}

  get(): ValidateFunction {
    this.compiled ??= this.ajv.compile(this.schema);
    return this.compiled;
  }
}

/**
 * Compiles schemas into {@link ShapeCheck}s that report what ajv with `allErrors` reports, the same
 * errors in the same order, but never hold more than a few ajv errors at once.
 *
 * Why not ajv alone: with `allErrors` ajv builds one error object per mismatch before it returns
 * and cannot stop early, so `[1,1,…]` with 12 M elements (23 MiB of text) took about 4 GiB of heap
 * (red team 11, F2). Here ajv checks each schema node's own keywords (type, bounds) on one value at
 * a time, and this walk descends `properties`, `items` and `additionalProperties` itself, in ajv's
 * order, pushing into a bounded sink. Memory is bounded by the schema's depth; time is one small
 * check per value. Before a node's children are walked, its whole subtree is checked at once
 * without `allErrors`, and a valid subtree is skipped: a valid document costs what ajv alone costs,
 * and one bad user among 100,000 is found without walking the others (done at the root and for
 * each array element, see `ShapeNode.whole`). The walk does not stop once
 * the sink is full: it goes on counting, so that "… and K more errors" stays exact, at the cost of
 * one small check per value (12 M wrongly typed elements: about 0.6 s).
 *
 * Only the keywords the policy schema uses are supported, and custom keywords given to the
 * constructor (which must apply to their value alone); any other throws at compile time, so a
 * schema change cannot silently escape the walk.
 */
export class ShapeCompiler {
  // Compiled from constant input, once per process (house rule 2).
  private readonly whole = new Ajv({ allErrors: false, allowUnionTypes: true, strict: true });
  private readonly detailed = new Ajv({ allErrors: true, allowUnionTypes: true, strict: true });
  private readonly ownValidators = new Map<string, LazyValidator>();
  private readonly ownKeywords: ReadonlySet<string>;

  constructor(private readonly message: ShapeMessage, keywords: readonly KeywordDefinition[] = []) {
    for (const keyword of keywords) {
      this.whole.addKeyword(keyword);
      this.detailed.addKeyword(keyword);
    }
    this.ownKeywords = new Set([...OWN_KEYWORDS, ...keywords.map((keyword) => keyword.keyword as string)]);
  }

  /** A check of `schema`; `$ref`s must point into its own `$defs` (`#/$defs/name`). */
  compile(schema: SchemaObject): ShapeCheck {
    const { $defs: defs = {}, ...rest } = schema as SchemaObject & { $defs?: Record<string, SchemaObject> };
    const root = this.checkedWhole(this.node(rest, defs, new Map()));
    root.whole?.get(); // the one every check runs: compiled now, as ajv alone was
    return (value, errors) => this.walk(root, value, '', errors);
  }

  private node(schema: SchemaObject, defs: Record<string, SchemaObject>, built: Map<SchemaObject, ShapeNode>): ShapeNode {
    const target = resolveRef(schema, defs);
    const existing = built.get(target);
    if (existing !== undefined) return existing;
    const subtree = Object.keys(defs).length === 0 ? target : { ...target, $defs: defs };
    const node: ShapeNode = { subtree, whole: null, own: null, properties: [], items: null, additionalProperties: null };
    built.set(target, node); // before the children: a hook body nests hook bodies
    const own: SchemaObject = {};
    for (const [keyword, value] of Object.entries(target)) {
      if (this.ownKeywords.has(keyword)) own[keyword] = value;
      else if (keyword === 'properties') {
        node.properties = Object.entries(value as Record<string, SchemaObject>).map(([name, child]) => [name, this.node(child, defs, built)]);
      } else if (keyword === 'items') node.items = this.checkedWhole(this.node(value as SchemaObject, defs, built));
      else if (keyword === 'additionalProperties') node.additionalProperties = this.node(value as SchemaObject, defs, built);
      else throw new Error(`the shape walk does not support the schema keyword ${keyword}`);
    }
    // ajv applies additionalProperties only to keys that properties does not name; not walked here.
    if ('properties' in target && 'additionalProperties' in target) throw new Error('the shape walk does not support properties with additionalProperties');
    node.own = Object.keys(own).length === 0 ? null : this.ownValidator(own);
    return node;
  }

  /** `node`, with its subtree checked at once before it is walked when it has children. */
  private checkedWhole(node: ShapeNode): ShapeNode {
    if (node.whole === null && (node.properties.length > 0 || node.items !== null || node.additionalProperties !== null)) {
      node.whole = new LazyValidator(this.whole, node.subtree);
    }
    return node;
  }

  private ownValidator(own: SchemaObject): LazyValidator {
    const key = JSON.stringify(own);
    let validator = this.ownValidators.get(key);
    if (validator === undefined) {
      validator = new LazyValidator(this.detailed, own);
      this.ownValidators.set(key, validator);
    }
    return validator;
  }

  /** Mirrors ajv: own keywords first; `properties` in schema order, `items` and `additionalProperties` in data order. */
  private walk(node: ShapeNode, value: unknown, pointer: string, errors: IssueSink): void {
    if (node.whole !== null && node.whole.get()(value)) return;
    const own = node.own?.get();
    if (own !== undefined && !own(value)) {
      // Past the reported bound only the count matters: no message is built (most of the time spent).
      for (const error of own.errors ?? []) errors.push(errors.full === true ? COUNTED_ONLY : { pointer, message: this.message(error, value) });
    }
    if (typeof value !== 'object' || value === null) return;
    if (Array.isArray(value)) {
      const { items } = node;
      if (items !== null) for (let index = 0; index < value.length; index += 1) this.walk(items, value[index], `${pointer}/${index}`, errors);
      return;
    }
    const members = value as Record<string, unknown>;
    for (const [name, child] of node.properties) {
      // ajv's test (`data.name !== undefined`), so that exactly the members ajv checks are checked.
      if (members[name] !== undefined) this.walk(child, members[name], childPointer(pointer, name), errors);
    }
    const additional = node.additionalProperties;
    if (additional !== null) for (const key in members) this.walk(additional, members[key], childPointer(pointer, key), errors);
  }
}

function resolveRef(schema: SchemaObject, defs: Record<string, SchemaObject>): SchemaObject {
  const ref = schema['$ref'] as unknown;
  if (ref === undefined) return schema;
  const name = typeof ref === 'string' && ref.startsWith('#/$defs/') ? ref.slice('#/$defs/'.length) : undefined;
  const target = name === undefined ? undefined : defs[name];
  if (target === undefined || Object.keys(schema).length !== 1) throw new Error(`the shape walk supports only a lone $ref into #/$defs, not ${JSON.stringify(schema)}`);
  return target;
}
