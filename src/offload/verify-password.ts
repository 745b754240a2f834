/**
 * The `verifyPassword` pool task: checks a password against a managed user's credential with the
 * authenticator of the user's `authType`.
 */
import type { Dispatcher } from 'undici';
import type { AuthType } from '../policy/snapshot.js';
import { isDigestAuthType, verifyDigest, verifyPlain } from './verify-digest.js';
import { verifyBcrypt } from './verify-bcrypt.js';
import { verifyRest } from './verify-rest.js';
import { MAX_PASSWORD_BYTES, verified, verifyFailure, type VerifyPasswordResult } from './verify-result.js';

export type { VerifyPasswordErrorCode, VerifyPasswordResult, VerifyPasswordValue } from './verify-result.js';

/** Input of the `verifyPassword` task (plain data: it is posted to a worker). */
export interface VerifyPasswordInput {
  authType: AuthType;
  /** The policy's `authCredential`: the password, a hex digest, a bcrypt hash or a URL. */
  credential: string;
  /** The password the client sent. */
  password: string;
  /** Full MXID; only the `rest` authenticator sends it anywhere. */
  userId: string;
  /** `UserAuth.RestTimeoutMilliseconds`; used by `rest` only. */
  restTimeoutMs: number;
}

/** What the task table gives the task: resources built once per worker. */
export interface VerifyPasswordContext {
  /** HTTP client for `rest` services (keep-alive pool owned by the worker). */
  dispatcher: Dispatcher;
}

/**
 * Checks the password. Before any authenticator runs, an empty password is `authenticated: false`
 * (matrix-corporal let `plain` users with an empty credential in with an empty password, and would
 * have asked `rest` services about one) and a password over {@link MAX_PASSWORD_BYTES} is refused
 * with `password-too-long`. `passthrough` users are never checked by Corporal (Synapse holds their
 * password): asking is `unsupported-auth-type`, as is any type this build does not know.
 */
export async function verifyPassword(input: VerifyPasswordInput, context: VerifyPasswordContext): Promise<VerifyPasswordResult> {
  const { authType, credential, password } = input;
  if (authType === 'passthrough') return verifyFailure('unsupported-auth-type', 'passthrough users are authenticated by the homeserver');
  if (password.length === 0) return verified(false);
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) {
    return verifyFailure('password-too-long', `password is longer than ${MAX_PASSWORD_BYTES} bytes`);
  }
  if (authType === 'plain') return verifyPlain(credential, password);
  if (isDigestAuthType(authType)) return verifyDigest(authType, credential, password);
  if (authType === 'bcrypt') return verifyBcrypt(credential, password);
  if (authType === 'rest') {
    return verifyRest({ url: credential, userId: input.userId, password, timeoutMs: input.restTimeoutMs }, context.dispatcher);
  }
  return verifyFailure('unsupported-auth-type', `unknown auth type ${JSON.stringify(authType)}`);
}
