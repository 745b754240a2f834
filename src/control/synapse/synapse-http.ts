import { setMaxListeners } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { Pool, type Dispatcher } from 'undici';
import { ownCallsDispatcher, socketServerErrorHint } from '../../common/own-forwarded-for.js';
import { CorporalError } from '../../common/errors.js';
import { ErrCode } from '../../common/matrix-errors.js';
import type { Logger } from '../../common/logger.js';
import { objectOf } from './json-fields.js';
import type { Readable } from 'node:stream';
import { BodyLimitExceededError, discardBody, readBoundedBody } from '../../common/bounded-body.js';
import { ArrayFieldFormatError, ArrayFieldLimitError, readArrayField, type ArrayFieldOptions } from '../../common/json-array-field.js';
import { DEFAULT_RATE_LIMIT_RETRY, rateLimitWaitMs, type RateLimitRetryOptions } from './rate-limit.js';
import { SynapseErrorCode } from './synapse-errors.js';
import { describeTransportError, isUndiciTimeout } from '../../common/transport-error.js';
import { DeadlineExceededError, withDeadline } from '../../common/deadline.js';

/** HTTP methods the reconciler uses. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/**
 * A token that can be replaced: the admin session, or a user's short-lived token. When Synapse
 * refuses the token with `M_UNKNOWN_TOKEN`, the request is repeated once with `renew(stale)`.
 */
export interface TokenSource {
  /** The token to send now. */
  token(): Promise<string>;
  /** Called after `stale` was refused as unknown; returns a fresh token or throws. */
  renew(stale: string): Promise<string>;
}

/** How a request authenticates: no token, a fixed token, or a renewable one. */
export type Auth = string | TokenSource | undefined;

/** One call to the homeserver. */
export interface SynapseRequest {
  /** Stable name of the call (`admin.users.list`, `client.login`, …) used in logs and error messages. */
  call: string;
  method: HttpMethod;
  /** Path below the base URL, each variable segment already percent-encoded. */
  path: string;
  query?: Readonly<Record<string, string | number | boolean | undefined>>;
  auth?: Auth;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent verbatim (media upload). */
  bytes?: { data: Uint8Array; contentType: string };
  /** Largest answer body accepted; default the client's `maxBodyBytes`. */
  maxBodyBytes?: number;
  /**
   * Read a 2xx answer's array field element by element (`common/json-array-field.ts`) instead of
   * as a whole, keeping what `keep` returns for each: for answers whose size the homeserver's
   * users decide (a room's whole state, red team 22). `maxBodyBytes` then bounds the bytes
   * streamed, not the bytes held; the answer's other fields may take up to 1 MiB. An answer that is
   * not a 2xx is read whole, within the client's default bound. With `shallow`, only each
   * element's own fields are held (its nested objects and arrays reach `keep` empty).
   */
  arrayField?: Pick<ArrayFieldOptions<unknown>, 'key' | 'maxElementBytes' | 'maxElements' | 'keep' | 'shallow'>;
  /** Retry `M_LIMIT_EXCEEDED` answers (default true; a 429 means Synapse did not act on the request). */
  retryRateLimited?: boolean;
}

/** Options of {@link SynapseHttp}. */
export interface SynapseHttpOptions {
  /** `Matrix.HomeserverApiEndpoint` (may carry a path prefix). */
  baseUrl: string;
  /** Deadline of one attempt: connect, headers and the whole body (`Matrix.TimeoutMilliseconds`). */
  timeoutMs: number;
  /** Keep-alive connections to Synapse. */
  connections: number;
  /** `Matrix.HomeserverApiSocketPath`: connect over this Unix socket instead of TCP; `""`/absent = TCP. */
  socketPath?: string;
  logger: Logger;
  /** Default bound of answer bodies; default 4 MiB. */
  maxBodyBytes?: number;
  rateLimit?: RateLimitRetryOptions;
  /** Waits between rate-limited attempts; must reject when `signal` aborts (tests record the waits instead of timing them). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Default bound of an answer body. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: unknown;
}

/**
 * The reconciler's one connection pool to Synapse. Every call has a deadline, a bounded answer
 * body, typed errors (`CorporalError`, source `upstream`, Synapse's status and errcode kept) and
 * `M_LIMIT_EXCEEDED` retries that honour `retry_after_ms`. Tokens travel only in the
 * `Authorization` header and are never logged. Owned by the control child's composition root,
 * which calls {@link close}.
 */
export class SynapseHttp {
  readonly #pool: Pool;
  /** `#pool`, with Corporal's own `X-Forwarded-For` over a Unix socket (common/own-forwarded-for.ts). */
  readonly #dispatcher: Dispatcher;
  readonly #basePath: string;
  readonly #timeoutMs: number;
  readonly #maxBodyBytes: number;
  readonly #rateLimit: RateLimitRetryOptions;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #logger: Logger;
  /** `''` over TCP: see {@link socketServerErrorHint}. */
  readonly #socketPath: string;
  /** Aborted by {@link close}: ends every call in flight, rate-limit waits included. */
  readonly #closing = new AbortController();
  #requests = 0;

  constructor(options: SynapseHttpOptions) {
    const base = new URL(options.baseUrl);
    this.#basePath = base.pathname.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs;
    this.#maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#rateLimit = options.rateLimit ?? DEFAULT_RATE_LIMIT_RETRY;
    this.#sleep = options.sleep ?? ((ms, signal) => delay(ms, undefined, { signal }));
    this.#logger = options.logger;
    this.#pool = new Pool(base.origin, {
      connections: options.connections,
      connectTimeout: options.timeoutMs,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      ...(options.socketPath ? { socketPath: options.socketPath } : {}),
    });
    this.#dispatcher = ownCallsDispatcher(this.#pool, options.socketPath ?? '');
    // Every call in flight follows `#closing` with one listener, removed when the call settles
    // (withDeadline): more than ten at once is normal at `Concurrency` 8 and up, not a leak, and
    // Node's MaxListenersExceededWarning would tell operators otherwise.
    setMaxListeners(0, this.#closing.signal);
    this.#socketPath = options.socketPath ?? '';
  }

  /** HTTP requests sent so far (every attempt counts). */
  get requestCount(): number {
    return this.#requests;
  }

  /**
   * Sends the call and returns the parsed JSON body of a 2xx answer (`undefined` for an empty
   * one). Rate-limited answers are retried as described in {@link RateLimitRetryOptions}; an
   * `M_UNKNOWN_TOKEN` answer to a {@link TokenSource} is retried once with a renewed token.
   */
  async request(request: SynapseRequest): Promise<unknown> {
    const auth = request.auth;
    const source = typeof auth === 'object' ? auth : undefined;
    let token: string | undefined = typeof auth === 'object' ? await auth.token() : auth;
    let renewed = false;
    let waitedMs = 0;
    for (let attempt = 1; ; attempt++) {
      const answer = await this.#send(request, token);
      if (answer.status >= 200 && answer.status < 300) return answer.json;
      const error = statusError(request, answer, this.#socketPath);
      if (error.errcode === ErrCode.LimitExceeded && (request.retryRateLimited ?? true)) {
        const waitMs = rateLimitWaitMs(answer.json, answer.headers['retry-after'], this.#rateLimit.defaultWaitMs);
        if (attempt < this.#rateLimit.maxAttempts && waitedMs + waitMs <= this.#rateLimit.maxTotalWaitMs) {
          this.#logger.warn({ call: request.call, attempt, waitMs }, 'Synapse rate-limited a call; retrying after the delay it asked for');
          await this.#wait(request, waitMs);
          waitedMs += waitMs;
          continue;
        }
      }
      if (error.errcode === ErrCode.UnknownToken && source !== undefined && !renewed && token !== undefined) {
        renewed = true;
        token = await source.renew(token);
        continue;
      }
      throw error;
    }
  }

  /** {@link request} for calls whose 2xx answer must be a JSON object (a `CORP_ERR_UPSTREAM_BAD_RESPONSE` otherwise). */
  async requestObject(request: SynapseRequest): Promise<Record<string, unknown>> {
    return objectOf(await this.request(request), request.call);
  }

  /** Ends every call in flight (they fail with `CORP_ERR_UPSTREAM_ABORTED`) and closes the pool. Idempotent. */
  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    await this.#pool.destroy();
  }

  async #wait(request: SynapseRequest, ms: number): Promise<void> {
    try {
      await this.#sleep(ms, this.#closing.signal);
    } catch (err) {
      throw abortedError(request, err);
    }
  }

  async #send(request: SynapseRequest, token: string | undefined): Promise<Answer> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    let body: string | Uint8Array | undefined;
    if (request.bytes !== undefined) {
      body = request.bytes.data;
      headers['content-type'] = request.bytes.contentType;
    } else if (request.json !== undefined) {
      body = JSON.stringify(request.json);
      headers['content-type'] = 'application/json';
    }
    if (this.#closing.signal.aborted) throw abortedError(request, undefined);
    const started = Date.now();
    this.#requests++;
    // withDeadline, not `AbortSignal.any` of a timeout and the closing signal: on Node 20 every
    // `any` over the long-lived closing signal left an entry in that signal's set of dependants
    // for good (about 66 bytes per call; a Set refuses more than 2^24 entries, so after some
    // weeks every call would have thrown), and each timeout's timer outlived its call.
    return withDeadline(this.#timeoutMs, () => `${request.call}: no answer from Synapse within ${this.#timeoutMs} ms`, async (signal) => {
      try {
        const response = await this.#dispatcher.request({
          method: request.method,
          path: this.#basePath + request.path + queryString(request.query),
          headers,
          body,
          signal,
        });
        const status = response.statusCode;
        const maxBytes = request.maxBodyBytes ?? this.#maxBodyBytes;
        const streamed = request.arrayField !== undefined && status >= 200 && status < 300;
        const json = streamed
          ? await streamedArrayField(request, request.arrayField!, response.body, maxBytes)
          // An error answer of a streamed call is small: the streaming bound is not its bound.
          : parseJson(request, status, await readBoundedBody(response.body, request.arrayField !== undefined ? this.#maxBodyBytes : maxBytes, response.headers['content-length']));
        this.#logger.debug({ call: request.call, method: request.method, status, ms: Date.now() - started }, 'Synapse call');
        return { status, headers: response.headers, json };
      } catch (err) {
        if (err instanceof CorporalError) throw err;
        if (err instanceof BodyLimitExceededError) {
          throw new CorporalError(SynapseErrorCode.BodyTooLarge, `${request.call}: Synapse's answer exceeds ${err.limit} bytes`, { source: 'upstream', status: 502 });
        }
        if (this.#closing.signal.aborted) throw abortedError(request, err);
        if ((signal.aborted && signal.reason instanceof DeadlineExceededError) || isUndiciTimeout(err)) {
          throw new CorporalError(SynapseErrorCode.Timeout, `${request.call}: no answer from Synapse within ${this.#timeoutMs} ms`, {
            source: 'upstream',
            status: 504,
            retryable: true,
            cause: err,
          });
        }
        throw new CorporalError(SynapseErrorCode.Unreachable, `${request.call}: cannot reach Synapse: ${describeTransportError(err)}`, {
          source: 'upstream',
          status: 502,
          retryable: true,
          cause: err,
        });
      }
    }, this.#closing.signal);
  }
}

function queryString(query: SynapseRequest['query']): string {
  if (query === undefined) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** Bytes an answer read by {@link streamedArrayField} may hold besides its array. */
const ARRAY_ANSWER_OTHER_BYTES = 1024 * 1024;

/** A 2xx answer read with `request.arrayField`; the body is discarded on the first problem. */
async function streamedArrayField(request: SynapseRequest, field: NonNullable<SynapseRequest['arrayField']>, body: Readable, maxTotalBytes: number): Promise<unknown> {
  try {
    return await readArrayField(body, { ...field, maxOtherBytes: ARRAY_ANSWER_OTHER_BYTES, maxTotalBytes });
  } catch (err) {
    discardBody(body);
    if (err instanceof ArrayFieldLimitError) {
      throw new CorporalError(SynapseErrorCode.BodyTooLarge, `${request.call}: Synapse's answer is too large: ${err.message}`, { source: 'upstream', status: 502 });
    }
    if (err instanceof ArrayFieldFormatError) {
      throw new CorporalError(SynapseErrorCode.BadResponse, `${request.call}: Synapse answered with a body Corporal cannot read: ${err.message}`, { source: 'upstream', status: 502 });
    }
    throw err;
  }
}

function parseJson(request: SynapseRequest, status: number, raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    if (status >= 200 && status < 300) {
      throw new CorporalError(SynapseErrorCode.BadResponse, `${request.call}: Synapse answered HTTP ${status} with a body that is not JSON`, { source: 'upstream', status: 502 });
    }
    return undefined;
  }
}

/** The error for a non-2xx answer; over a Unix socket a 500 names the likeliest cause. */
function statusError(request: SynapseRequest, answer: Answer, socketPath: string): CorporalError {
  const body = typeof answer.json === 'object' && answer.json !== null ? (answer.json as { errcode?: unknown; error?: unknown }) : {};
  const errcode = typeof body.errcode === 'string' ? body.errcode : answer.status === 429 ? ErrCode.LimitExceeded : ErrCode.Unknown;
  const detail = typeof body.error === 'string' ? `: ${body.error.slice(0, 300)}` : '';
  const hint = socketServerErrorHint(socketPath, answer.status);
  return new CorporalError(SynapseErrorCode.Status, `${request.call}: Synapse answered HTTP ${answer.status} ${errcode}${detail}${hint}`, {
    source: 'upstream',
    status: answer.status,
    errcode,
    retryable: answer.status >= 500 || errcode === ErrCode.LimitExceeded,
  });
}

function abortedError(request: SynapseRequest, cause: unknown): CorporalError {
  return new CorporalError(SynapseErrorCode.Aborted, `${request.call}: abandoned`, { source: 'upstream', status: 503, cause });
}
