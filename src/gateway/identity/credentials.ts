import { queryValues } from '../query.js';

/**
 * The access token a request presents, decided exactly as Synapse decides it
 * (`synapse/api/auth/base.py`, `get_access_token_from_request` and `get_appservice_user`):
 *
 * - `Authorization` header(s) present: with an `access_token` query parameter as well →
 *   "Mixing Authorization headers and access_token query parameters."; more than one header →
 *   "Too many Authorization headers."; the value split on single spaces must be exactly
 *   `["Bearer", token]` (case-sensitive, one space) → else "Invalid Authorization header.".
 * - Otherwise the first `access_token` query value (Twisted's query parsing, see query.ts), even
 *   an empty one.
 * - The token must be ASCII (Synapse decodes it as ASCII and fails otherwise).
 * - `user_id` in the query (first value, raw bytes) is the user an appservice token masquerades
 *   as; Synapse ignores it for ordinary user tokens, so it is only a hint that goes to whoami.
 *
 * A request whose credentials Synapse would reject is still proxied (Synapse answers 401
 * `M_MISSING_TOKEN` with the same message); the gateway just does not know a user for it.
 */
export type Credentials =
  | { readonly kind: 'none' }
  | { readonly kind: 'token'; readonly token: string; readonly masqueradeAs: Uint8Array | null }
  | { readonly kind: 'invalid'; readonly message: string };

/** Whether the credentials carry an appservice `user_id` (Synapse ignores it for ordinary user tokens). */
export function masquerades(credentials: Credentials): boolean {
  return credentials.kind === 'token' && credentials.masqueradeAs !== null;
}

/** No credentials presented. */
export const NO_CREDENTIALS: Credentials = Object.freeze({ kind: 'none' });

/** Synapse's `MissingClientTokenError` messages (401 `M_MISSING_TOKEN`). */
export const CREDENTIAL_ERRORS = Object.freeze({
  mixed: 'Mixing Authorization headers and access_token query parameters.',
  tooManyHeaders: 'Too many Authorization headers.',
  invalidHeader: 'Invalid Authorization header.',
  notAscii: 'Access token is not ASCII.',
});

const BEARER_PREFIX = 'Bearer ';

/**
 * Extracts the credentials from the request's `Authorization` header values (all of them, in
 * order; empty array when none) and its raw query string.
 */
export function extractCredentials(authorizationHeaders: readonly string[], rawQuery: string): Credentials {
  const queryTokens = queryValues(rawQuery, 'access_token');
  let token: string;
  if (authorizationHeaders.length > 0) {
    if (queryTokens !== null) return invalid(CREDENTIAL_ERRORS.mixed);
    if (authorizationHeaders.length > 1) return invalid(CREDENTIAL_ERRORS.tooManyHeaders);
    const header = authorizationHeaders[0]!;
    // `parts = value.split(b" ")` must be exactly [b"Bearer", token]: one space, no other spaces.
    if (!header.startsWith(BEARER_PREFIX) || header.indexOf(' ', BEARER_PREFIX.length) !== -1) {
      return invalid(CREDENTIAL_ERRORS.invalidHeader);
    }
    token = header.slice(BEARER_PREFIX.length);
  } else {
    const first = queryTokens?.[0];
    if (first === undefined) return NO_CREDENTIALS;
    token = latin1(first);
  }
  if (!isAscii(token)) return invalid(CREDENTIAL_ERRORS.notAscii);
  const masquerade = queryValues(rawQuery, 'user_id')?.[0] ?? null;
  return { kind: 'token', token, masqueradeAs: masquerade };
}

function invalid(message: string): Credentials {
  return { kind: 'invalid', message };
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}
