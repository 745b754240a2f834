import { checkHttpUrl, isHttpUrl } from '../common/http-url.js';
import { BCRYPT_HASH, DIGEST_BYTES, MAX_BCRYPT_COST, MIN_BCRYPT_COST } from '../common/password-hash-formats.js';
import type { AuthType } from './snapshot.js';

const HEX = /^[0-9a-fA-F]*$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** `data:type/subtype`, optional `;name=value` parameters, `;base64,`. */
const DATA_URI = /^data:[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(?:;[A-Za-z0-9!#$&^_.+-]+=[^;,]*)*;base64,/i;
/** Policy URLs may carry a fragment, as matrix-corporal's did: the HTTP client leaves it out of the request. */
const POLICY_URL = Object.freeze({ allowFragment: true });
/** An HTTP token (RFC 9110): header names and methods. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Header values must not smuggle in another header or end the header block. */
const HEADER_VALUE = /^[^\r\n\0]*$/;

/**
 * Checks `authCredential` against its `authType`: a hex digest of the right length for
 * md5/sha1/sha256/sha512, a well-formed bcrypt hash (cost 4–31) for bcrypt, an http(s) URL for rest.
 * `plain` and `passthrough` take any string. Returns the error message, or null.
 */
export function checkCredential(authType: AuthType, credential: string): string | null {
  // A hex digest of the right length (matrix-corporal accepts upper- and lower-case hex).
  const digestBytes = (DIGEST_BYTES as Readonly<Partial<Record<AuthType, number>>>)[authType];
  if (digestBytes !== undefined) {
    const hexLength = 2 * digestBytes;
    if (credential.length !== hexLength || !HEX.test(credential)) {
      return `a ${authType} credential must be the hex digest (${hexLength} hex digits)`;
    }
    return null;
  }
  if (authType === 'bcrypt') {
    const cost = BCRYPT_HASH.exec(credential)?.[2];
    if (cost === undefined || Number(cost) < MIN_BCRYPT_COST || Number(cost) > MAX_BCRYPT_COST) {
      return 'a bcrypt credential must be a bcrypt hash: $2a$, $2b$, $2x$ or $2y$, a cost from 04 to 31, $, and 53 characters of ./A-Za-z0-9';
    }
    return null;
  }
  if (authType === 'rest') {
    const problem = checkServiceUrl(credential);
    if (problem !== null) return `a rest credential must be the http(s) URL of the authentication service (it ${problem})`;
  }
  return null;
}

/**
 * Checks `avatarUri`: empty, an http(s) URL, or `data:<type>/<subtype>[;params];base64,<data>` with
 * non-empty, valid standard base64 (padding optional). Returns the error message, or null.
 */
export function checkAvatarUri(uri: string): string | null {
  if (uri === '' || isHttpUrl(uri, POLICY_URL)) return null;
  if (!uri.startsWith('data:')) return 'avatarUri must be empty, an http(s) URL or a data:<mime type>;base64,<data> URI';
  const header = DATA_URI.exec(uri);
  if (header === null) return 'a data: avatarUri must look like data:<type>/<subtype>;base64,<data>';
  const data = uri.slice(header[0].length);
  if (data === '' || data.length % 4 === 1 || !BASE64.test(data) || (data.includes('=') && data.length % 4 !== 0)) {
    return 'the data of a data: avatarUri must be non-empty, valid base64';
  }
  return null;
}

/**
 * Checks the URL of a service Corporal calls (a `rest` credential, a hook's `RESTServiceURL`).
 * Returns the problem — not quoting the URL, whose user info may be a password — or null.
 */
export function checkServiceUrl(url: string): string | null {
  return checkHttpUrl(url, POLICY_URL);
}

/** True for an HTTP token (a header name or a method). */
export function isHttpToken(value: string): boolean {
  return TOKEN.test(value);
}

/** True for a header value without CR, LF or NUL. */
export function isSafeHeaderValue(value: string): boolean {
  return HEADER_VALUE.test(value);
}
