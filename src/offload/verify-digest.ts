/**
 * The `plain` and hex-digest (`md5`, `sha1`, `sha256`, `sha512`) authenticators.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { verified, verifyFailure, type VerifyPasswordResult } from './verify-result.js';
import { DIGEST_BYTES, type DigestAuthType } from '../common/password-hash-formats.js';

export type { DigestAuthType } from '../common/password-hash-formats.js';

const HEX = /^[0-9a-fA-F]*$/;

/** True for the auth types {@link verifyDigest} handles. */
export function isDigestAuthType(authType: string): authType is DigestAuthType {
  return Object.hasOwn(DIGEST_BYTES, authType);
}

/**
 * `plain`: the password equals the credential. Both sides are hashed to fixed-size SHA-256 digests
 * and those are compared with `timingSafeEqual`, so neither the position of the first difference
 * nor the credential's length shows in the timing (comparing the strings themselves would leak the
 * length: `timingSafeEqual` requires equal lengths). Equal digests ⇔ equal strings, barring a
 * SHA-256 collision. An empty credential is a policy error, not a password that matches "".
 */
export function verifyPlain(credential: string, password: string): VerifyPasswordResult {
  if (credential.length === 0) return verifyFailure('invalid-credential', 'plain credential is empty');
  const expected = createHash('sha256').update(credential, 'utf8').digest();
  const given = createHash('sha256').update(password, 'utf8').digest();
  return verified(timingSafeEqual(expected, given));
}

/**
 * `md5|sha1|sha256|sha512`: the credential is the hex digest (either case) of the password's UTF-8
 * bytes. A fresh hasher is created per call: matrix-corporal shared one hasher between concurrent
 * requests, a data race. Invalid hex or a digest of the wrong length is a policy error
 * (`invalid-credential`); matrix-corporal errored on bad hex but silently rejected wrong lengths.
 */
export function verifyDigest(authType: DigestAuthType, credential: string, password: string): VerifyPasswordResult {
  const bytes = DIGEST_BYTES[authType];
  if (!HEX.test(credential)) return verifyFailure('invalid-credential', `${authType} credential is not a hex string`);
  if (credential.length !== bytes * 2) {
    return verifyFailure('invalid-credential', `${authType} credential has ${credential.length} hex digits, expected ${bytes * 2}`);
  }
  const expected = Buffer.from(credential, 'hex');
  const given = createHash(authType).update(password, 'utf8').digest();
  return verified(timingSafeEqual(expected, given));
}
