/**
 * The async shell around {@link inspectLoginResponse}: ends refused sessions upstream.
 */
import type { Logger } from '../../common/logger.js';
import type { PolicySnapshot } from '../../policy/snapshot.js';
import { inspectLoginResponse } from './login-response.js';
import { revokeAccessToken, type HomeserverClient } from './revoke-session.js';
import type { LocalAnswer } from './local-answer.js';

/**
 * Vets Synapse's answer to a forwarded (`proxy`) login: null = send it to the client unchanged;
 * a {@link LocalAnswer} = send that instead. Before a refusal is answered the new session is
 * logged out upstream, so the token Synapse minted is dead even though nobody ever saw it.
 */
export type LoginResponseGuard = (status: number, body: Uint8Array, snapshot: PolicySnapshot) => Promise<LocalAnswer | null>;

/** Builds the guard for one gateway thread. */
export function createLoginResponseGuard(homeserver: HomeserverClient, logger: Logger): LoginResponseGuard {
  return async (status, body, snapshot) => {
    const verdict = inspectLoginResponse(status, body, snapshot);
    if (verdict.kind === 'pass') return null;
    const revoked = verdict.accessToken === null ? false : await revokeAccessToken(homeserver, verdict.accessToken);
    const fields = { userId: verdict.userId, errcode: verdict.answer.errcode, revoked };
    if (verdict.accessToken !== null && !revoked) logger.error(fields, 'login refused after the homeserver answered, and its session could not be logged out');
    else logger.warn(fields, 'login refused after the homeserver answered');
    return verdict.answer;
  };
}
