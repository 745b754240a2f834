import { connectionTokens, isHopByHop } from './hop-by-hop.js';

/** The upstream response head as it will be written to the client. */
export interface ResponseHead {
  /** Flat `[name, value, …]` of the headers to copy, as the upstream's raw bytes (original case, exact values). */
  headers: Buffer[];
  /** The upstream `Content-Length` value (raw), or null when absent. */
  contentLength: Buffer | null;
}

/**
 * Filters the upstream's raw response headers (undici's flat `Buffer[]`) for the client, in one
 * pass, keeping their bytes: drops hop-by-hop headers and those named in `Connection`, and the
 * ones uWS writes itself — `Content-Length` (returned separately: uWS frames the body from it),
 * `Transfer-Encoding` (hop-by-hop; uWS chunks unknown lengths itself) and `Date`. Copying any of
 * them would send the client duplicate framing headers.
 */
export function filterResponseHeaders(raw: readonly Buffer[]): ResponseHead {
  let connectionValues: string[] | null = null;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 10 && lowerName(name) === 'connection') (connectionValues ??= []).push(raw[i + 1]!.toString('latin1'));
  }
  const dropped = connectionValues === null ? null : connectionTokens(connectionValues, false);
  const headers: Buffer[] = [];
  let contentLength: Buffer | null = null;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const nameBytes = raw[i]!;
    // Most headers cannot be one of those dropped here; their names are not even decoded.
    if (dropped !== null || mayBeDropped(nameBytes)) {
      const name = lowerName(nameBytes);
      if (name === 'content-length') {
        contentLength ??= raw[i + 1]!;
        continue;
      }
      if (name === 'date' || isHopByHop(name) || (dropped !== null && dropped.has(name))) continue;
    }
    headers.push(nameBytes, raw[i + 1]!);
  }
  return { headers, contentLength };
}

/** Lengths of `te`, `date`, `trailer`/`upgrade`, `keep-alive`/`connection`, `content-length`, `transfer-encoding`. */
const DROPPED_NAME_LENGTHS: ReadonlySet<number> = new Set([2, 4, 7, 10, 14, 17]);

/** Cheap pre-check on the raw name: a length of a dropped header, or `Proxy-*`. */
function mayBeDropped(name: Buffer): boolean {
  return DROPPED_NAME_LENGTHS.has(name.length) || name[0] === 0x70 /* p */ || name[0] === 0x50 /* P */;
}

function lowerName(name: Buffer): string {
  return name.toString('latin1').toLowerCase();
}

/** The decimal value of a `Content-Length` header, or null when it is not a plain non-negative integer. */
export function parseContentLength(value: Buffer | string | null): number | null {
  if (value === null) return null;
  const text = typeof value === 'string' ? value.trim() : value.toString('latin1').trim();
  if (text === '' || text.length > 15) return null;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return null;
  }
  return Number(text);
}
