import type { Dispatcher } from 'undici';
import { OWN_FORWARDED_FOR, socketServerErrorHint } from '../../common/own-forwarded-for.js';
import { CorporalError } from '../../common/errors.js';
import { BodyLimitExceededError, readBoundedBody } from '../../common/bounded-body.js';
import { DeadlineExceededError, withDeadline } from '../../common/deadline.js';
import { describeTransportError, isUndiciTimeout } from '../../common/transport-error.js';
import { ErrCode } from '../../common/matrix-errors.js';
import { EXPIRED_TOKEN, LOCKED, UNKNOWN_TOKEN, type CachedIdentity } from './identity.js';
import { percentEncode } from './masquerade.js';
import { exceedsUpstreamHeadLimit, UPSTREAM_HEAD_LIMIT_BYTES } from '../upstream/header-section.js';
import { requestHeadTooLarge } from '../upstream/upstream-errors.js';

/**
 * Looks up who a token (plus an appservice `user_id`, as raw bytes) belongs to. `signal` aborts
 * the look-up when nobody waits for it any more.
 */
export type IdentityLookup = (token: string, masqueradeAs: Uint8Array | null, signal?: AbortSignal) => Promise<CachedIdentity>;

/** Options of {@link createWhoamiLookup}. */
export interface WhoamiLookupOptions {
  /** The upstream pool (requests go to its origin). */
  dispatcher: Dispatcher;
  /** Base path of `Matrix.HomeserverApiEndpoint` (`''` or `/prefix`, no trailing slash). */
  basePath: string;
  /** `host:port` of `Matrix.HomeserverApiEndpoint` (`UpstreamTarget.host`): the `Host` the request carries. */
  host: string;
  /** Limit for the whole look-up, body included (`Matrix.TimeoutMilliseconds`). */
  timeoutMs: number;
  /**
   * `Matrix.HomeserverApiSocketPath` (`''` over TCP): names the likeliest cause of a 500, and
   * counts the `X-Forwarded-For` the dispatcher then adds (own-forwarded-for.ts) in the head's size.
   */
  socketPath?: string;
}

/** whoami answers are tiny; anything larger is not a whoami answer. */
const MAX_WHOAMI_BODY_BYTES = 64 * 1024;
/** Characters a token may have to travel in an `Authorization: Bearer` header unchanged. */
const HEADER_SAFE_TOKEN = /^[\x21-\x7e]+$/;

/**
 * `GET /_matrix/client/v3/account/whoami` with the token (and `?user_id=` when the request
 * masquerades, so that Synapse answers for the same user it will act as), bounded in time (the
 * whole exchange by `timeoutMs`) and size.
 *
 * Resolves with the user, or the negative answers the cache keeps (`M_UNKNOWN_TOKEN`, as
 * {@link EXPIRED_TOKEN} when Synapse adds `soft_logout: true`; `M_USER_LOCKED`); rejects with a
 * `CorporalError` for anything else, which must not be cached:
 * {@link MASQUERADE_REFUSED} (Synapse's 400 or 403) when Synapse refuses the appservice `user_id`;
 * {@link WHOAMI_TIMED_OUT} (504) when no complete answer came in time, `CORP_ERR_WHOAMI_FAILED`
 * (502) for transport errors, 5xx and unexpected answers; and `CORP_ERR_REQUEST_HEAD_TOO_LARGE`
 * (431), without asking, for a token too long for Synapse's HTTP server to take in a request head.
 */
export function createWhoamiLookup(options: WhoamiLookupOptions): IdentityLookup {
  const path = `${options.basePath}/_matrix/client/v3/account/whoami`;
  // Over a Unix socket the internal dispatcher adds Corporal's own X-Forwarded-For to the head.
  const addedHeaders = options.socketPath ? ['x-forwarded-for', OWN_FORWARDED_FOR] : [];
  return async (token, masqueradeAs, abandoned) => {
    // Tokens travel as a Bearer header; one that a header cannot carry unchanged (empty, spaces,
    // control characters: possible only through the access_token query parameter) goes in the
    // query, as the client sent it, so that Synapse looks up exactly the same bytes.
    const inHeader = HEADER_SAFE_TOKEN.test(token);
    const params: string[] = [];
    if (!inHeader) params.push(`access_token=${percentEncode(Buffer.from(token, 'latin1'))}`);
    if (masqueradeAs !== null) params.push(`user_id=${percentEncode(masqueradeAs)}`);
    const requestPath = params.length === 0 ? path : `${path}?${params.join('&')}`;
    const headers = inHeader ? ['authorization', `Bearer ${token}`] : [];
    // Synapse drops such a request unanswered, which would read as a homeserver failure (a 502 and
    // a warning) that any client could cause with a long enough token (audit 14). Synapse knows no
    // such token, and the proxy refuses the same head (proxy-exchange.ts): the client's error.
    if (exceedsUpstreamHeadLimit('GET', requestPath, [...headers, ...addedHeaders], options.host, false)) throw requestHeadTooLarge(UPSTREAM_HEAD_LIMIT_BYTES);
    const { statusCode, body } = await withDeadline(options.timeoutMs, () => `no complete whoami answer within ${options.timeoutMs} ms`, async (signal) => {
      let response: Dispatcher.ResponseData;
      try {
        response = await options.dispatcher.request({
          method: 'GET',
          path: requestPath,
          headers,
          headersTimeout: options.timeoutMs,
          bodyTimeout: options.timeoutMs,
          signal,
        });
      } catch (cause) {
        throw failure(`whoami request failed: ${describeTransportError(cause)}`, cause);
      }
      return { statusCode: response.statusCode, body: await readAnswer(response) };
    }, abandoned);
    const json = parseJson(body);
    if (statusCode === 200) {
      const userId = json?.['user_id'];
      if (typeof userId !== 'string' || userId === '') throw failure('whoami answered 200 without a user_id');
      const deviceId = json?.['device_id'];
      return { kind: 'user', userId, deviceId: typeof deviceId === 'string' ? deviceId : null, isGuest: json?.['is_guest'] === true };
    }
    const errcode = json?.['errcode'];
    // Synapse's `soft_logout: true` marks an expired refreshable token: kept apart, so that a
    // policy-checked route can answer it as Synapse does (the client's cue to refresh).
    if (errcode === ErrCode.UnknownToken) return json?.['soft_logout'] === true ? EXPIRED_TOKEN : UNKNOWN_TOKEN;
    if (errcode === ErrCode.UserLocked) return LOCKED;
    if (masqueradeAs !== null && (statusCode === 400 || statusCode === 403) && typeof errcode === 'string') throw masqueradeRefused(statusCode, errcode, json?.['error']);
    throw failure(`whoami answered HTTP ${statusCode}${typeof errcode === 'string' ? ` ${errcode}` : ''}${socketServerErrorHint(options.socketPath ?? '', statusCode)}`);
  };
}

async function readAnswer(response: Dispatcher.ResponseData): Promise<string> {
  try {
    return (await readBoundedBody(response.body, MAX_WHOAMI_BODY_BYTES, response.headers['content-length'])).toString('utf8');
  } catch (cause) {
    if (cause instanceof BodyLimitExceededError) throw failure(`whoami answer exceeds ${MAX_WHOAMI_BODY_BYTES} bytes`);
    throw failure(`reading the whoami answer failed: ${describeTransportError(cause)}`, cause);
  }
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** `code` of a masqueraded look-up that Synapse refused: the appservice may not act as that user (400 or 403). */
export const MASQUERADE_REFUSED = 'CORP_ERR_MASQUERADE_REFUSED';

/**
 * Synapse's own refusal of an appservice `user_id` (not in the appservice's namespace, or not
 * registered), passed on as Synapse gives it: the client's error, not a homeserver failure (red
 * team 16, F6). Not cached, unlike an unknown token: the appservice can register the user a moment
 * later, and a remembered refusal would then let requests pass unchecked.
 */
function masqueradeRefused(status: number, errcode: string, error: unknown): CorporalError {
  const message = typeof error === 'string' && error !== '' ? error.slice(0, 200) : 'The application service cannot act as this user';
  return new CorporalError(MASQUERADE_REFUSED, message, { source: 'client', status, errcode });
}

/** `code` of a look-up that got no complete answer within `Matrix.TimeoutMilliseconds` (504). */
export const WHOAMI_TIMED_OUT = 'CORP_ERR_WHOAMI_TIMEOUT';

/**
 * The error of a failed look-up: a 504 {@link WHOAMI_TIMED_OUT} when `cause` is the deadline or one
 * of undici's timeouts (Synapse did not answer in time), else a 502 `CORP_ERR_WHOAMI_FAILED`.
 *
 * Its message is what the client is told, so it names no address, port or status of the
 * homeserver (any client with a made-up token can cause one; operator review 3). `detail`, the
 * operator's account, becomes its `cause` (with the original error as the cause of that), which
 * the gateway's warning logs.
 */
function failure(detail: string, cause?: unknown): CorporalError {
  const reason = new Error(detail, cause === undefined ? undefined : { cause });
  if (cause instanceof DeadlineExceededError || isUndiciTimeout(cause)) {
    return new CorporalError(WHOAMI_TIMED_OUT, 'The homeserver did not answer the access token check in time', {
      source: 'upstream', status: 504, errcode: ErrCode.Unknown, retryable: true, cause: reason,
    });
  }
  return new CorporalError('CORP_ERR_WHOAMI_FAILED', 'The access token could not be checked with the homeserver', {
    source: 'upstream', status: 502, errcode: ErrCode.Unknown, retryable: true, cause: reason,
  });
}
