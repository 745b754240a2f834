import { foldKey } from '../../common/key-fold.js';

/** How a field of a small request body is typed. */
export type BodyFieldKind = 'string' | 'integer';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes a small JSON object body the way matrix-corporal's Go handlers did
 * (`json.Unmarshal` into a struct): field names match case-insensitively (Go's folding), unknown
 * fields are ignored, `null` (for the body or a field) leaves a field absent, and the last of
 * several matching keys wins. Returns null — "Bad body payload" — for an empty body, invalid
 * UTF-8 or JSON, a body that is not an object, or a field of the wrong type (an integer field
 * takes only safe integers).
 */
export function decodeBodyFields<F extends string>(body: Buffer, fields: Readonly<Record<F, BodyFieldKind>>): Partial<Record<F, string | number>> | null {
  let value: unknown;
  try {
    value = JSON.parse(UTF8.decode(body));
  } catch {
    return null;
  }
  if (value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) return null;
  const byFolded = new Map<string, F>(Object.keys(fields).map((name) => [foldKey(name), name as F]));
  const decoded: Partial<Record<F, string | number>> = {};
  for (const [key, field] of Object.entries(value)) {
    const name = byFolded.get(foldKey(key));
    if (name === undefined || field === null) continue;
    const kind = fields[name];
    if (kind === 'string' ? typeof field !== 'string' : !Number.isSafeInteger(field)) return null;
    decoded[name] = field as string | number;
  }
  return decoded;
}
