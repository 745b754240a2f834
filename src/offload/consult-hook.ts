/**
 * The `consultHook` task: one `consult.RESTServiceURL` consultation, done whole in a pool worker —
 * build matrix-corporal's payload from the request (and response) parts, call the service with
 * per-attempt timeouts and retries, read and validate the hook it answers with.
 *
 * Protocol (matrix-corporal §7.7): `<RESTServiceRequestMethod> <RESTServiceURL>` with
 * `Content-Type: application/json` plus `RESTServiceRequestHeaders`, body
 *
 *   {"meta": {"hookId", "authenticatedMatrixUserId"},
 *    "request": {"URI", "path", "method", "headers", "payload"},
 *    "response": null | {"statusCode", "headers", "payload"}}
 *
 * and a success is HTTP 200 with a body that is a valid hook.
 *
 * The payload carries the client's request headers, its access token included, as matrix-corporal
 * sends them (services rely on it), but for `X-Forwarded-For`, which the gateway has already
 * replaced by the chain Synapse receives (`HookRequest.headersForService`). It is never logged,
 * and neither are the service's URL path, query or request headers (they may carry secrets);
 * messages name the origin.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';
import { compileReturnedHook } from '../policy/returned-hook.js';
import type { SnapshotHook } from '../policy/snapshot.js';
import { SERVICE_CLIENT_HEADERS } from '../common/service-client.js';
import { BodyLimitExceededError, discardBody, isDecodingError, readBoundedDecodedText, transportErrorText } from './http-body.js';
import { parseServiceUrl } from '../common/service-url.js';
import type { TaskResult } from './task-types.js';
import { withDeadline } from '../common/deadline.js';

/** The consulted request as the payload describes it. */
export interface ConsultedRequest {
  /** Raw request URI: the undecoded path plus `?query` when there is one. */
  uri: string;
  /** The percent-decoded path, without the query. */
  path: string;
  method: string;
  /** Flat `[name, value, …]` (any case); `Host` and `Transfer-Encoding` are left out of the payload. */
  headers: readonly string[];
  /** The request body as sent upstream (empty when there is none). */
  body: Uint8Array;
}

/** The upstream response an after-hook consults about. */
export interface ConsultedResponse {
  status: number;
  /** Flat `[name, value, …]`; `Transfer-Encoding` is left out of the payload. */
  headers: readonly string[];
  body: Uint8Array;
}

/** The service to call and how (a consult hook's fields, defaults resolved). */
export interface ConsultService {
  url: string;
  method: string;
  headers: Readonly<Record<string, string>>;
  /** Per attempt, until the whole answer is read. */
  timeoutMs: number;
  /** Extra attempts after the first. */
  retryAttempts: number;
  retryWaitMs: number;
}

/** Input of the `consultHook` task (structured-cloned to the worker: plain data only). */
export interface ConsultHookInput {
  hookId: string;
  /** The authenticated user, or null. */
  userId: string | null;
  service: ConsultService;
  request: ConsultedRequest;
  /** Present for after-hooks only. */
  response: ConsultedResponse | null;
  /** Largest answer read from the service. */
  maxAnswerBytes: number;
  /**
   * When the answer stops being of use (epoch ms: the client's request has reached its time
   * limit), or null for no such bound (async consultations). No attempt or wait runs past it, and
   * an attempt's deadline is cut to it: the task holds a place in the worker's pool, and a dead or
   * trickling service must not keep it there for all its retries after the client is gone
   * (quality 18 #16).
   */
  abandonAt: number | null;
}

/** A successful consultation: the hook to run now (its `eventType` null), compiled and validated. */
export interface ConsultHookValue {
  hook: SnapshotHook;
  /** Attempts made (1 + retries used). */
  attempts: number;
  /** Validation warnings about the returned hook (ignored fields and the like). */
  warnings: string[];
}

/** Every attempt failed; `message` says how the last one did (safe to log). */
export type ConsultHookErrorCode = 'consult-failed';

/** Output of the `consultHook` task. */
export type ConsultHookResult = TaskResult<ConsultHookValue, ConsultHookErrorCode>;

/** What {@link consultHook} needs besides its input. */
export interface ConsultHookDeps {
  dispatcher: Dispatcher;
}

type AttemptOutcome = { ok: true; hook: SnapshotHook; warnings: string[] } | { ok: false; reason: string };

/**
 * Runs one consultation: the payload is built once and sent on every attempt; each attempt has
 * its own deadline of `timeoutMs` that stays armed until the answer's body has been read
 * (matrix-corporal cancelled it before sending: its issue #26). An attempt fails on a transport
 * error, a timeout, a status other than 200, an answer over `maxAnswerBytes`, invalid JSON, or
 * JSON that is not a valid hook (see `compileReturnedHook`); then, after `retryWaitMs`, the next
 * attempt starts, up to `1 + retryAttempts` in all.
 *
 * Never rejects for an expected failure: it resolves with `ok: false` (see `task-types.ts`).
 */
export async function consultHook(input: ConsultHookInput, deps: ConsultHookDeps): Promise<ConsultHookResult> {
  const parsed = parseServiceUrl(input.service.url, 'the RESTServiceURL');
  if (!parsed.ok) return { ok: false, code: 'consult-failed', message: parsed.message };
  const { url, basicAuth } = parsed.value;
  const headers = serviceRequestHeaders(input.service.headers, basicAuth);
  const service = { ...input.service, url: url.href };
  const origin = url.origin;
  const body = buildConsultPayload(input);
  const attempts = 1 + service.retryAttempts;
  const abandonAt = input.abandonAt ?? Number.POSITIVE_INFINITY;
  let reason = '';
  let made = 0;
  while (made < attempts) {
    const waitMs = made > 0 ? service.retryWaitMs : 0;
    const leftMs = abandonAt - Date.now() - waitMs;
    if (leftMs <= 0) {
      reason = `${reason === '' ? '' : `${reason}; `}the request's time limit ended first`;
      break;
    }
    if (waitMs > 0) await sleep(waitMs);
    made++;
    const timeoutMs = Math.max(1, Math.min(service.timeoutMs, Math.floor(leftMs)));
    const outcome = await attemptConsultation(input.maxAnswerBytes, { ...service, timeoutMs }, headers, body, deps.dispatcher, input.hookId);
    if (outcome.ok) return { ok: true, value: { hook: outcome.hook, attempts: made, warnings: outcome.warnings } };
    reason = outcome.reason;
  }
  return { ok: false, code: 'consult-failed', message: `REST service ${origin} failed after ${made} attempt(s); last: ${reason}` };
}

async function attemptConsultation(
  maxAnswerBytes: number,
  service: ConsultService,
  headers: Record<string, string>,
  body: string,
  dispatcher: Dispatcher,
  hookId: string,
): Promise<AttemptOutcome> {
  // One deadline for the whole attempt (connect, headers and the complete body: a service trickling
  // its answer cannot hold the attempt open), cleared as soon as the attempt ends.
  const answer = await withDeadline(service.timeoutMs, () => `no complete answer within ${service.timeoutMs} ms`, async (signal): Promise<{ text: string } | AttemptOutcome> => {
    try {
      const response = await request(service.url, {
        method: service.method as Dispatcher.HttpMethod,
        headers,
        body,
        dispatcher,
        signal,
        headersTimeout: service.timeoutMs,
        bodyTimeout: service.timeoutMs,
      });
      if (response.statusCode !== 200) {
        discardBody(response.body);
        return { ok: false, reason: `HTTP ${response.statusCode}, expected 200` };
      }
      return { text: await readBoundedDecodedText(response.body, response.headers, maxAnswerBytes) };
    } catch (err) {
      if (err instanceof BodyLimitExceededError) return { ok: false, reason: `answer larger than ${maxAnswerBytes} bytes` };
      if (signal.aborted) return { ok: false, reason: `no complete answer within ${service.timeoutMs} ms` };
      if (isDecodingError(err)) return { ok: false, reason: `the answer could not be decoded (${transportErrorText(err)})` };
      return { ok: false, reason: `unreachable (${transportErrorText(err)})` };
    }
  });
  if (!('text' in answer)) return answer;
  const { text } = answer;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'the answer is not JSON' };
  }
  const compiled = compileReturnedHook(parsed, hookId);
  if (!compiled.ok) {
    const first = compiled.errors[0];
    const detail = first === undefined ? '' : `: ${first.pointer === '' ? '' : `${first.pointer}: `}${first.message}`;
    return { ok: false, reason: `the answer is not a valid hook${detail}` };
  }
  return { ok: true, hook: compiled.hook, warnings: compiled.warnings.map((w) => `${w.pointer === '' ? '' : `${w.pointer}: `}${w.message}`) };
}

/**
 * `Content-Type: application/json` and the {@link SERVICE_CLIENT_HEADERS} (`Accept-Encoding: gzip`,
 * `User-Agent`), then the hook's headers, each set case-insensitively (Go `Header.Set`). User info
 * in the URL (`https://user:pass@host/…`) is taken out of it and sent as HTTP Basic authentication
 * unless the hook sets `Authorization` itself, as Go's client does.
 */
function serviceRequestHeaders(extra: Readonly<Record<string, string>>, basicAuth: string | null): Record<string, string> {
  const byLowerName = new Map<string, [string, string]>([['content-type', ['Content-Type', 'application/json']]]);
  for (const [name, value] of Object.entries(SERVICE_CLIENT_HEADERS)) byLowerName.set(name, [canonicalHeaderKey(name), value]);
  if (basicAuth !== null) byLowerName.set('authorization', ['Authorization', basicAuth]);
  for (const [name, value] of Object.entries(extra)) byLowerName.set(name.toLowerCase(), [canonicalHeaderKey(name), value]);
  // fromEntries defines own properties: a header named `__proto__` stays one (an assignment would drop it).
  return Object.fromEntries(byLowerName.values());
}

/**
 * The JSON body sent to the service, in matrix-corporal's field order. Header maps are keyed by
 * Go's canonical header names, with repeated headers joined by `", "` and the keys sorted (Go
 * encodes maps that way). Bodies are decoded as UTF-8 with U+FFFD for invalid bytes, as Go's
 * `string(bytes)` followed by JSON encoding does.
 */
export function buildConsultPayload(input: ConsultHookInput): string {
  const { request: req, response } = input;
  return JSON.stringify({
    meta: { hookId: input.hookId, authenticatedMatrixUserId: input.userId },
    request: {
      URI: req.uri,
      path: req.path,
      method: req.method,
      headers: headerMap(req.headers, REQUEST_HEADERS_LEFT_OUT),
      payload: utf8(req.body),
    },
    response: response === null ? null : { statusCode: response.status, headers: headerMap(response.headers, RESPONSE_HEADERS_LEFT_OUT), payload: utf8(response.body) },
  });
}

/** Go's server moves these out of `Request.Header` (into `Host` and `TransferEncoding`). */
const REQUEST_HEADERS_LEFT_OUT: ReadonlySet<string> = new Set(['host', 'transfer-encoding']);
/** Go's client moves this one out of `Response.Header`. */
const RESPONSE_HEADERS_LEFT_OUT: ReadonlySet<string> = new Set(['transfer-encoding']);

function headerMap(flat: readonly string[], leftOut: ReadonlySet<string>): Record<string, string> {
  const values = new Map<string, string[]>();
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i]!;
    if (leftOut.has(name.toLowerCase())) continue;
    const key = canonicalHeaderKey(name);
    const list = values.get(key);
    if (list === undefined) values.set(key, [flat[i + 1]!]);
    else list.push(flat[i + 1]!);
  }
  // fromEntries defines own properties: a header named `__proto__` is kept, as Go kept it (quality 18 #12).
  return Object.fromEntries([...values.keys()].sort().map((key) => [key, values.get(key)!.join(', ')]));
}

function utf8(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/** RFC 9110 token characters: the only ones Go canonicalises a header name over. */
const TOKEN_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Go's `textproto.CanonicalMIMEHeaderKey`: the first letter and every letter after `-` upper-case,
 * the others lower-case (`x-custom-header` → `X-Custom-Header`). A name with characters outside an
 * HTTP token is returned unchanged, as Go does.
 */
export function canonicalHeaderKey(name: string): string {
  if (!TOKEN_NAME.test(name)) return name;
  let out = '';
  let upper = true;
  for (const char of name) {
    out += upper ? char.toUpperCase() : char.toLowerCase();
    upper = char === '-';
  }
  return out;
}
