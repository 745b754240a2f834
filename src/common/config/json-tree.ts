/**
 * A JSON document as Go's `encoding/json` sees it, before it is bound to types: objects keep every
 * entry in document order (duplicates and case variants included), and numbers keep their literal
 * text, because Go decides "is this an int" from the text (`1.0` is not an int field's value).
 */
export type JsonNode =
  | { kind: 'object'; entries: JsonEntry[] }
  | { kind: 'array'; items: JsonNode[] }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number; raw: string }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' };

/** One `"key": value` member of a JSON object. */
export interface JsonEntry {
  key: string;
  value: JsonNode;
}

/** Plain data (JSON-compatible JavaScript) of a node; duplicate keys: the last one wins. */
export function plainValueOf(node: JsonNode): unknown {
  switch (node.kind) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const entry of node.entries) setOwn(out, entry.key, plainValueOf(entry.value));
      return out;
    }
    case 'array': return node.items.map(plainValueOf);
    case 'null': return null;
    case 'number': return node.value === 0 ? 0 : node.value;
    default: return node.value;
  }
}

/**
 * Sets an own, enumerable property even for keys like `__proto__`, which a plain assignment would
 * turn into a prototype change (operator-supplied keys must never reach a prototype).
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** True for a number literal Go's `strconv.ParseInt` accepts (no fraction, no exponent). */
export function isIntegerLiteral(raw: string): boolean {
  return /^-?\d+$/.test(raw);
}
