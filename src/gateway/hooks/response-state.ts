import { canonicalHeaderKey } from '../../offload/consult-hook.js';
import { mergeIntoJsonObject } from './json-merge.js';
import type { BufferedResponse } from '../upstream/proxy-exchange.js';

/**
 * An upstream response held in memory: the proxy's buffered response (raw header bytes as undici
 * gives them, flat `[name, value, …]`). After-hooks never mutate one; they build a new one.
 */
export type UpstreamResponse = BufferedResponse;

/**
 * Response headers the gateway owns: a hook cannot set them, they follow the body. That includes
 * `Content-Encoding`: a hook can only give a JSON (text) body, so a `gzip` it set would make
 * clients decode plain bytes and fail; Synapse's own value stays as long as its body does.
 */
const FRAMING_HEADERS: ReadonlySet<string> = new Set(['content-length', 'transfer-encoding', 'content-encoding']);

/**
 * The upstream response while after-hooks work on it. Changes are applied to a copy; the original
 * is returned untouched when no hook changed anything.
 *
 * Whenever the body is replaced (a JSON merge, or a `reject`/`respond`/error answer) the result
 * carries a `Content-Length` true to the new body, no `Transfer-Encoding`, and no
 * `Content-Encoding` (the new body is not encoded): matrix-corporal left stale framing headers.
 */
export class ResponseState {
  status: number;
  body: Buffer;
  private headers: Buffer[] | null = null;
  private changed = false;
  private bodyReplaced = false;
  /** {@link answer} put a local answer in place of the upstream response (`BufferedResponse.replaced`). */
  private answered = false;

  constructor(private readonly original: UpstreamResponse) {
    this.status = original.status;
    this.body = original.body;
  }

  /** Flat `[name, value, …]` as text (names latin1, values UTF-8), for a REST consultation's payload. */
  headerList(): string[] {
    const raw = this.headers ?? this.original.rawHeaders;
    const list: string[] = new Array<string>(raw.length);
    for (let i = 0; i + 1 < raw.length; i += 2) {
      list[i] = raw[i]!.toString('latin1');
      list[i + 1] = raw[i + 1]!.toString('utf8');
    }
    return list;
  }

  /** Go's `Header.Set`: replaces every value of `name` (any case). Framing headers are left alone; returns whether it was set. */
  setHeader(name: string, value: string): boolean {
    const lower = name.toLowerCase();
    if (FRAMING_HEADERS.has(lower)) return false;
    this.removeHeader(lower);
    this.mutableHeaders().push(Buffer.from(canonicalHeaderKey(name), 'latin1'), Buffer.from(value, 'utf8'));
    this.changed = true;
    return true;
  }

  /**
   * Replaces the response with a local answer (an after-hook's `reject`/`respond`, or a processing
   * error): status, `Content-Type`, `Access-Control-Allow-Origin: *` and body, as matrix-corporal's
   * response-bound writer did; the upstream's other headers stay.
   */
  answer(status: number, contentType: string, body: string): void {
    this.answered = true;
    this.status = status;
    this.setHeader('Content-Type', contentType);
    this.setHeader('Access-Control-Allow-Origin', '*');
    this.replaceBody(Buffer.from(body, 'utf8'));
  }

  /** Merges `inject` into the body, which must be a JSON object; false (nothing changed) when it is not. */
  mergeJson(inject: Readonly<Record<string, unknown>>): boolean {
    const merged = mergeIntoJsonObject(this.body, inject);
    if (merged === null) return false;
    this.replaceBody(merged);
    return true;
  }

  /** The response to send: the original object when nothing changed; `replaced` once {@link answer} ran. */
  result(): UpstreamResponse {
    if (!this.changed) return this.original;
    const rawHeaders = this.mutableHeaders();
    if (this.bodyReplaced) {
      this.removeHeader('content-length');
      this.removeHeader('transfer-encoding');
      rawHeaders.push(Buffer.from('Content-Length', 'latin1'), Buffer.from(String(this.body.length), 'latin1'));
    }
    return { status: this.status, rawHeaders, body: this.body, replaced: this.answered };
  }

  private replaceBody(body: Buffer): void {
    this.body = body;
    this.bodyReplaced = true;
    this.changed = true;
    this.removeHeader('content-encoding');
  }

  private removeHeader(lower: string): void {
    const headers = this.mutableHeaders();
    for (let i = headers.length - 2; i >= 0; i -= 2) {
      if (headers[i]!.toString('latin1').toLowerCase() === lower) headers.splice(i, 2);
    }
  }

  private mutableHeaders(): Buffer[] {
    return (this.headers ??= [...this.original.rawHeaders]);
  }
}
