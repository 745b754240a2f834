/**
 * The `bcrypt` authenticator, on bcryptjs (pure JavaScript: no native build, no install scripts,
 * and it runs unchanged inside a pool worker).
 */
import { compare } from 'bcryptjs';
import { verified, verifyFailure, type VerifyPasswordResult } from './verify-result.js';
// bcryptjs answers `false` for any string that is not 60 characters long and throws on others,
// so the shape is checked first: a malformed hash is a policy error, never a wrong password.
import { BCRYPT_HASH, MAX_BCRYPT_COST as MAX_COST, MIN_BCRYPT_COST as MIN_COST } from '../common/password-hash-formats.js';

/**
 * Checks `password` against a bcrypt hash. bcryptjs accepts `$2a$`, `$2b$` and `$2y$` and computes
 * them identically, as Go's bcrypt (matrix-corporal) did. `$2x$` is treated as `$2a$`, again as Go
 * did: it ignores the minor version. The bare `$2$` form is refused as malformed: Go hashed it like
 * `$2a$` while the original algorithm differs, so no answer would be right for both. As everywhere
 * in bcrypt, only the first 72 bytes of the password count.
 *
 * A wrong password is `authenticated: false`; matrix-corporal reported it as an internal error. The
 * async `compare` yields to the worker's event loop between rounds, so REST checks sharing the
 * worker keep running while a hash is computed.
 */
export async function verifyBcrypt(hash: string, password: string): Promise<VerifyPasswordResult> {
  const match = BCRYPT_HASH.exec(hash);
  if (!match) return verifyFailure('invalid-credential', 'bcrypt credential is not a $2a$/$2b$/$2x$/$2y$ hash');
  const cost = Number(match[2]);
  if (cost < MIN_COST || cost > MAX_COST) return verifyFailure('invalid-credential', `bcrypt cost ${cost} is outside ${MIN_COST}..${MAX_COST}`);
  const normalised = match[1] === 'x' ? `$2a${hash.slice(3)}` : hash;
  return verified(await compare(password, normalised));
}
