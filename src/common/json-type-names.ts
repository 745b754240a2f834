/** "an integer", "a string", "null", … — how error messages name a JSON Schema type. */
export function describeJsonType(type: string): string {
  switch (type) {
    case 'integer':
    case 'object':
    case 'array': return `an ${type}`;
    case 'null': return 'null';
    default: return `a ${type}`;
  }
}
