/**
 * The shapes of hashed policy credentials, shared by policy validation (`policy/formats.ts`, which
 * refuses a malformed credential at load) and the password verifiers (`offload/verify-*.ts`, which
 * check it again before use): one definition, so that a credential validation accepts is never one
 * a verifier refuses.
 */

/** Auth types whose credential is a hex digest of the password. */
export type DigestAuthType = 'md5' | 'sha1' | 'sha256' | 'sha512';

/** Digest size in bytes per auth type; the credential is exactly twice as many hex digits. */
export const DIGEST_BYTES: Readonly<Record<DigestAuthType, number>> = Object.freeze({ md5: 16, sha1: 20, sha256: 32, sha512: 64 });

/**
 * `$2<minor>$<cost>$<22 salt chars><31 hash chars>` in bcrypt's base64 alphabet; group 1 is the
 * minor version (`a`, `b`, `x`, `y`), group 2 the two-digit cost.
 */
export const BCRYPT_HASH = /^\$2([abxy])\$(\d\d)\$[./A-Za-z0-9]{53}$/;

/** bcrypt's lowest cost (as in Go's x/crypto/bcrypt, which matrix-corporal used). */
export const MIN_BCRYPT_COST = 4;
/** bcrypt's highest cost (as in Go's x/crypto/bcrypt). */
export const MAX_BCRYPT_COST = 31;
