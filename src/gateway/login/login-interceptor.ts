/**
 * The async shell of login interception: runs {@link decideLogin}, checks passwords in the
 * offload pool, and turns the result into what the pipeline does next.
 */
import { derivedPassword } from '../../common/derived-password.js';
import type { PolicySnapshot } from '../../policy/snapshot.js';
import { decideLogin, type LoginProxyReason } from './login-decision.js';
import { LOGIN_DENIALS } from './login-answers.js';
import { rewriteLoginBody } from './login-rewrite.js';
import { checkPassword, type PasswordChecker } from './check-password.js';
import type { PasswordCheckOrigin } from './check-origin.js';
import type { LocalAnswer } from './local-answer.js';
import { unmatchablePassword } from './unmatchable-password.js';

/** What login interception needs; built once per gateway thread. */
export interface LoginInterceptorOptions extends PasswordChecker {
  /** `Matrix.HomeserverDomainName`. */
  domain: string;
  /** `Matrix.AuthSharedSecret`: key of the derived password. */
  authSharedSecret: string;
}

/**
 * What the pipeline does with the login:
 * - `proxy`: forward the body unchanged; Synapse's answer must then pass the login response
 *   guard before it reaches the client;
 * - `proxy-rewritten`: forward `body` (a new body: set Content-Length from it) for `userId`;
 * - `proxy-refused`: the password is wrong; forward `body`, the login of `userId` with an
 *   unmatchable password, so that Synapse's failed-login rate limits count the attempt, and answer
 *   "Failed authentication" whatever Synapse says, except its 429 (the client learns when to retry);
 * - `respond`: answer `answer` locally, forward nothing.
 */
export type LoginOutcome =
  | { readonly kind: 'proxy'; readonly reason: LoginProxyReason }
  | { readonly kind: 'proxy-rewritten'; readonly body: Buffer; readonly userId: string }
  | { readonly kind: 'proxy-refused'; readonly body: Buffer; readonly userId: string }
  | { readonly kind: 'respond'; readonly answer: LocalAnswer };

/**
 * Intercepts one login body under the snapshot pinned for the request; `origin.signal` (the
 * request's) is aborted when its client leaves, which drops a password check still waiting for
 * the pool; `origin.clientAddress` counts the check against the client's address.
 */
export type LoginInterceptor = (body: Uint8Array, snapshot: PolicySnapshot | null, origin: PasswordCheckOrigin) => Promise<LoginOutcome>;

/**
 * Builds the interceptor. For an `authenticate` decision the password is checked with
 * `authenticateUser` in the pool: authenticated → the rewritten body with the derived password;
 * rejected → the rewritten body with an unmatchable password (`proxy-refused`: the client gets 403
 * `M_FORBIDDEN` "Failed authentication", or Synapse's 429 once its failed-attempt limit for the
 * user is reached; answering locally would let anyone guess policy passwords without limit);
 * authenticator error → 403 `M_UNKNOWN`
 * "Internal authenticator error" (the cause is logged, never the password); too many checks for the
 * user → 429 `M_LIMIT_EXCEEDED`; the pool busy, closed or too slow → 503 with `Retry-After` (see
 * `checkPassword`). Any other pool failure rejects (a bug for the pipeline's 500).
 *
 * A check still waiting for the pool when the client leaves is dropped; a running one finishes
 * and the caller drops the outcome of the aborted request.
 */
export function createLoginInterceptor(options: LoginInterceptorOptions): LoginInterceptor {
  const { domain, authSharedSecret, logger } = options;
  return async (body, snapshot, origin) => {
    const decision = decideLogin(body, snapshot, domain);
    if (decision.kind === 'proxy') return decision;
    if (decision.kind === 'deny') {
      logger.debug({ denial: decision.denial }, 'login denied');
      return { kind: 'respond', answer: decision.answer };
    }
    const { user } = decision;
    const check = await checkPassword(options, user, decision.password, { ...origin, purpose: 'login' });
    switch (check.kind) {
      case 'authenticated':
        return { kind: 'proxy-rewritten', body: rewriteLoginBody(decision.body, user.id, derivedPassword(authSharedSecret, user.id)), userId: user.id };
      case 'rejected':
        return { kind: 'proxy-refused', body: rewriteLoginBody(decision.body, user.id, unmatchablePassword()), userId: user.id };
      case 'error':
        return { kind: 'respond', answer: LOGIN_DENIALS['authenticator-error'] };
      case 'unavailable':
        return { kind: 'respond', answer: check.answer };
    }
  };
}
