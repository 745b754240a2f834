/**
 * Whether Synapse delegates authentication to the Matrix Authentication Service (MSC3861, the
 * `matrix_authentication_service` section of homeserver.yaml).
 *
 * Under MAS, Synapse no longer registers its own `/login`, nor the admin APIs Corporal mints user
 * tokens and registers users with (`/_synapse/admin/v1/users/{id}/login`, shared-secret
 * `/_synapse/admin/v1/register`), and it refuses password changes. Corporal cannot reconcile such a
 * server, so the admin session asks before anything else and names the cause, instead of failing
 * later on whichever call first meets a missing endpoint.
 */

import { ErrCode } from '../../common/matrix-errors.js';
import { CorporalError } from '../../common/errors.js';
import { isMatrixError, isUpstreamStatus, SynapseErrorCode } from './synapse-errors.js';
import type { SynapseHttp } from './synapse-http.js';

/** Why {@link authIsDelegated} said yes: the evidence, for the error message. */
export type DelegatedAuthEvidence = 'login-not-served' | 'oauth-metadata-served';

/**
 * Asks Synapse, without a token:
 * - `GET /_matrix/client/v3/login` answered 404 `M_UNRECOGNIZED`: Synapse does not serve `/login`,
 *   which happens only when MAS owns it;
 * - `GET /_matrix/client/v1/auth_metadata` answered 2xx: the OAuth 2.0 API is on (a stock Synapse
 *   answers 404 `M_UNRECOGNIZED`), even if a proxy in front of Synapse hands `/login` to MAS.
 *
 * The second is asked only when the first was answered. Returns the evidence, or null when neither
 * holds; any other answer (a 5xx, a proxy's 403 or HTML page) proves nothing and is not thrown,
 * so the admin session's next call reports it in its own words. A call that got no answer at all (unreachable,
 * timed out, aborted) is thrown: asking again would only wait as long a second time.
 */
export async function authIsDelegated(http: SynapseHttp): Promise<DelegatedAuthEvidence | null> {
  const login = await probe(http, 'client.login.flows', '/_matrix/client/v3/login');
  if (login === 'unrecognized') return 'login-not-served';
  if (login === 'other') return null;
  const metadata = await probe(http, 'client.auth_metadata', '/_matrix/client/v1/auth_metadata');
  return metadata === 'served' ? 'oauth-metadata-served' : null;
}

/** The admin session's message for {@link authIsDelegated}'s evidence. */
export function delegatedAuthMessage(evidence: DelegatedAuthEvidence): string {
  const seen =
    evidence === 'login-not-served'
      ? 'Synapse does not serve GET /_matrix/client/v3/login (404 M_UNRECOGNIZED)'
      : 'Synapse serves the OAuth 2.0 API (GET /_matrix/client/v1/auth_metadata answered)';
  return (
    `${seen}: it delegates authentication to the Matrix Authentication Service (matrix_authentication_service ` +
    `in homeserver.yaml). Corporal needs Synapse's own login and its admin login and registration APIs, which ` +
    `MAS removes; see docs/deployment.md, "Synapse with the Matrix Authentication Service"`
  );
}

const NO_ANSWER: ReadonlySet<string> = new Set([SynapseErrorCode.Unreachable, SynapseErrorCode.Timeout, SynapseErrorCode.Aborted]);

async function probe(http: SynapseHttp, call: string, path: string): Promise<'served' | 'unrecognized' | 'other'> {
  try {
    await http.request({ call, method: 'GET', path, retryRateLimited: false });
    return 'served';
  } catch (err) {
    if (!(err instanceof CorporalError) || NO_ANSWER.has(err.code)) throw err;
    return isUpstreamStatus(err, 404) && isMatrixError(err, ErrCode.Unrecognized) ? 'unrecognized' : 'other';
  }
}
