/**
 * The `rest` authenticator: asks an HTTP service whether a password is right, with the protocol of
 * kamax/ma1uta's matrix-synapse-rest-password-provider that matrix-corporal speaks.
 *
 *   POST <credential>   Content-Type: application/json
 *   {"user":{"id":"@alice:example.com","password":"…"}}
 *   → 200 {"auth":{"success":true|false, "mxid"?:"…", "profile"?:{"display_name"?:"…"}}}
 */
import { request, type Dispatcher } from 'undici';
import { SERVICE_CLIENT_HEADERS } from '../common/service-client.js';
import { BodyLimitExceededError, discardBody, isDecodingError, readBoundedDecodedText, transportErrorText } from './http-body.js';
import { parseServiceUrl } from '../common/service-url.js';
import { verified, verifyFailure, type VerifyPasswordResult } from './verify-result.js';
import { withDeadline } from '../common/deadline.js';

/** Largest response body read from an auth service; a bigger one is a bad response. */
export const MAX_REST_RESPONSE_BYTES = 64 * 1024;

/** Input of {@link verifyRest}. */
export interface VerifyRestInput {
  /** The service URL (the policy's `authCredential`). */
  url: string;
  userId: string;
  password: string;
  /** Deadline for the whole exchange: connect, headers and body. */
  timeoutMs: number;
}

/**
 * Calls the service and reads its verdict. The outcome classes matter to the gateway, which may
 * fall back to a cache only when the service is *unavailable*:
 * - `auth-service-unavailable`: no connection, reset, timeout (`timeoutMs` for the whole exchange;
 *   matrix-corporal had none), or a 5xx answer.
 * - `auth-service-bad-response`: any other non-200 status (redirects are not followed), a body over
 *   {@link MAX_REST_RESPONSE_BYTES}, a body that is not JSON, or JSON without a boolean
 *   `auth.success` (matrix-corporal read a missing `success` as false).
 * - `invalid-credential`: the credential is not an http(s) URL, or its user info cannot be decoded.
 *
 * User info in the URL (`https://user:pass@host/…`) is sent as HTTP Basic authentication, as Go's
 * client did. Messages name the service by origin only: paths and queries may carry secrets.
 */
export async function verifyRest(input: VerifyRestInput, dispatcher: Dispatcher): Promise<VerifyPasswordResult> {
  const parsed = parseServiceUrl(input.url, 'rest credential');
  if (!parsed.ok) return verifyFailure('invalid-credential', parsed.message);
  const { url, basicAuth } = parsed.value;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', ...SERVICE_CLIENT_HEADERS };
  if (basicAuth !== null) headers.authorization = basicAuth;
  const service = url.origin;
  return withDeadline(input.timeoutMs, () => `auth service ${service} did not answer within ${input.timeoutMs} ms`, async (signal) => {
    let text: string;
    try {
      const response = await request(url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ user: { id: input.userId, password: input.password } }),
        dispatcher,
        signal,
        headersTimeout: input.timeoutMs,
        bodyTimeout: input.timeoutMs,
      });
      const status = response.statusCode;
      if (status !== 200) {
        discardBody(response.body);
        return status >= 500
          ? verifyFailure('auth-service-unavailable', `auth service ${service} answered HTTP ${status}`)
          : verifyFailure('auth-service-bad-response', `auth service ${service} answered HTTP ${status}, expected 200`);
      }
      text = await readBoundedDecodedText(response.body, response.headers, MAX_REST_RESPONSE_BYTES);
    } catch (err) {
      if (err instanceof BodyLimitExceededError) {
        return verifyFailure('auth-service-bad-response', `auth service ${service} sent more than ${MAX_REST_RESPONSE_BYTES} bytes`);
      }
      if (signal.aborted) return verifyFailure('auth-service-unavailable', `auth service ${service} did not answer within ${input.timeoutMs} ms`);
      if (isDecodingError(err)) {
        return verifyFailure('auth-service-bad-response', `auth service ${service} sent an answer that could not be decoded: ${transportErrorText(err)}`);
      }
      return verifyFailure('auth-service-unavailable', `auth service ${service} unreachable: ${transportErrorText(err)}`);
    }
    return parseVerdict(text, service);
  });
}

/** Reads `{"auth":{"success":bool, "profile":{"display_name":…}}}`; anything else is a bad response. */
function parseVerdict(text: string, service: string): VerifyPasswordResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return verifyFailure('auth-service-bad-response', `auth service ${service} answered with invalid JSON`);
  }
  const auth = isObject(parsed) ? parsed.auth : undefined;
  if (!isObject(auth) || typeof auth.success !== 'boolean') {
    return verifyFailure('auth-service-bad-response', `auth service ${service} answered without a boolean auth.success`);
  }
  if (!auth.success) return verified(false);
  const displayName = isObject(auth.profile) ? auth.profile.display_name : undefined;
  return verified(true, typeof displayName === 'string' && displayName !== '' ? displayName : undefined);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

