import type { PassModifiedResponseHook } from '../../policy/snapshot.js';
import { GATEWAY_OWNED_REQUEST_HEADERS } from '../../policy/vocabulary.js';
import { unquote } from '../router/unquote.js';
import { unquoteExceptSlash } from '../router/unquote-except-slash.js';
import { redactPathSecrets } from '../secret-path.js';
import { equivalentRoutePaths } from './equivalent-paths.js';
import { mayCarryFormArguments } from '../form-arguments.js';

/** What the pipeline knows about a request when hooks run. */
export interface HookRequestInit {
  /** As the client sent it. */
  method: string;
  /** Undecoded path, as forwarded upstream. */
  rawPath: string;
  /** Undecoded query without `?`, `''` when none. */
  rawQuery: string;
  /** The authenticated user, or null. */
  userId: string | null;
  /** Flat `[name, value, …]` with lower-case names (as uWS delivers them). */
  headers: readonly string[];
  /**
   * The `X-Forwarded-For` the gateway sends upstream for a request with these `headers`: the
   * client's address as far as trusted proxies vouch for it (upstream/forwarded-for.ts).
   */
  forwardedFor: (headers: readonly string[]) => string;
  /**
   * The client's TCP peer is a trusted proxy (`HttpGateway.TrustedProxies`), so its `Forwarded`
   * and `X-Real-IP` go upstream (upstream/request-headers.ts); from anyone else they do not.
   */
  peerTrusted: boolean;
  /**
   * Reads the whole request body, bounded (`HttpGateway.MaxInspectedBodyBytes`; rejects with a
   * 413 `CorporalError` beyond it). Called at most once. Null when the request has no body.
   */
  readBody: (() => Promise<Buffer>) | null;
  /**
   * When the request's time is up (epoch ms: the exchange cap, `HttpGateway.TimeoutMilliseconds`,
   * from its start); consultations about it stop there. Default: no bound.
   */
  abandonAt?: number;
}

const EMPTY_BODY = Buffer.alloc(0);

/**
 * One request as hooks see and change it, across all its hook phases. Hooks may replace the body
 * (`pass.modifiedRequest`), set headers, and leave response modifiers for later (a before-hook's
 * REST service may answer `pass.modifiedResponse`). After the before-hooks the pipeline sends what
 * is here: {@link headers} when {@link headersChanged}, {@link loadedBody} when it is not null.
 */
export class HookRequest {
  readonly method: string;
  readonly rawPath: string;
  readonly rawQuery: string;
  readonly userId: string | null;
  /** See {@link HookRequestInit.abandonAt}: when consultations about this request stop (epoch ms). */
  readonly abandonAt: number;
  /** Current headers (flat, lower-case names); replaced, never mutated, when a hook sets one. */
  headers: readonly string[];
  /** A hook set a header. */
  headersChanged = false;
  /** A hook replaced the body. */
  bodyChanged = false;
  /** `pass.modifiedResponse` hooks yielded by before-hooks' REST services: applied to the upstream response first. */
  readonly responseModifiers: PassModifiedResponseHook[] = [];
  private readonly readBody: (() => Promise<Buffer>) | null;
  private readonly forwardedFor: (headers: readonly string[]) => string;
  private readonly peerTrusted: boolean;
  private decodedPath: string | null = null;
  private routePathForms: readonly string[] | null = null;
  private bodyBytes: Buffer | null = null;
  private bodyRead: Promise<Buffer> | null = null;

  constructor(init: HookRequestInit) {
    this.method = init.method;
    this.rawPath = init.rawPath;
    this.rawQuery = init.rawQuery;
    this.userId = init.userId;
    this.headers = init.headers;
    this.readBody = init.readBody;
    this.forwardedFor = init.forwardedFor;
    this.peerTrusted = init.peerTrusted;
    this.abandonAt = init.abandonAt ?? Number.POSITIVE_INFINITY;
  }

  /**
   * The headers a hook service is shown (the payload's `headers`): the current ones, with every
   * `X-Forwarded-For` line replaced by the one value Synapse will receive, and `Forwarded` and
   * `X-Real-IP` left out unless the peer is a trusted proxy, as upstream. What the client wrote
   * there is its own claim, which a service deciding on the address must not be handed as fact
   * (matrix-corporal passed all three through).
   */
  headersForService(): readonly string[] {
    const vouched = this.peerTrusted ? this.headers : withoutHeaders(this.headers, (name) => UNVOUCHED_ADDRESS_HEADERS.has(name));
    return withHeader(vouched, 'x-forwarded-for', this.forwardedFor(this.headers));
  }

  /**
   * The percent-decoded path without the query: the payload's `path` (matrix-corporal: Go's
   * `URL.Path`). Decoded on first use, with Synapse's own decoding.
   */
  get path(): string {
    return (this.decodedPath ??= unquote(this.rawPath));
  }

  /** {@link path} for log lines: without the path segments that are capabilities (secret-path.ts). */
  get loggedPath(): string {
    return redactPathSecrets(this.path, this.method);
  }

  /**
   * What `route` rules test: the path as sent, decoded but for `%2F`, which stays encoded, so that
   * it has the segments Synapse routes on (see {@link unquoteExceptSlash}), followed by its other
   * spellings (equivalent-paths.ts). Built on first use.
   */
  get routePaths(): readonly string[] {
    return (this.routePathForms ??= equivalentRoutePaths(unquoteExceptSlash(this.rawPath)));
  }

  /** The raw request URI: undecoded path plus `?query` (the payload's `URI`). */
  get uri(): string {
    return this.rawQuery === '' ? this.rawPath : `${this.rawPath}?${this.rawQuery}`;
  }

  /** The body once read or replaced; null while nobody needed it. */
  get loadedBody(): Buffer | null {
    return this.bodyBytes;
  }

  /**
   * The body (read on first call). Empty when the request has none; {@link loadedBody} then stays
   * null, so nothing is sent upstream in place of the (absent) body. Rejects as `readBody` does.
   */
  body(): Promise<Buffer> {
    if (this.bodyBytes !== null) return Promise.resolve(this.bodyBytes);
    if (this.readBody === null) return Promise.resolve(EMPTY_BODY);
    this.bodyRead ??= this.readBody().then((bytes) => (this.bodyBytes ??= bytes));
    return this.bodyRead;
  }

  /** Replaces the body and keeps `Content-Length` in the headers true to it. */
  replaceBody(body: Buffer): void {
    this.bodyBytes = body;
    this.bodyChanged = true;
    this.replaceHeader('content-length', String(body.length));
  }

  /**
   * Sets a header as Go's `Header.Set` does: every value of that name (any case) is replaced by
   * this one. Headers the gateway owns (`GATEWAY_OWNED_REQUEST_HEADERS`) are left alone, and so is
   * a `Content-Type` under which Synapse would read the body as form arguments: it would take an
   * `access_token` or `user_id` from it, and act for another user than the one checked, as with
   * `Authorization` (form-arguments.ts; verification 15). Returns whether it was set.
   */
  setHeader(name: string, value: string): boolean {
    const lower = name.toLowerCase();
    if (GATEWAY_OWNED_REQUEST_HEADERS.has(lower)) return false;
    if (lower === 'content-type' && mayCarryFormArguments(this.method, true, [lower, value])) return false;
    this.replaceHeader(lower, value);
    this.headersChanged = true;
    return true;
  }

  private replaceHeader(lower: string, value: string): void {
    this.headers = withHeader(this.headers, lower, value);
  }
}

/** Client-address headers that only a trusted proxy's word makes worth passing on. */
const UNVOUCHED_ADDRESS_HEADERS: ReadonlySet<string> = new Set(['forwarded', 'x-real-ip']);

/** A copy of `headers` without the lines whose (lower-case) name `drop` picks. */
function withoutHeaders(headers: readonly string[], drop: (lower: string) => boolean): string[] {
  const next: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (!drop(headers[i]!)) next.push(headers[i]!, headers[i + 1]!);
  }
  return next;
}

/** A copy of `headers` with every `lower` line removed and one `lower: value` line appended. */
function withHeader(headers: readonly string[], lower: string, value: string): string[] {
  const next = withoutHeaders(headers, (name) => name === lower);
  next.push(lower, value);
  return next;
}
