/**
 * The async shell around {@link inspectLoginResponse}: ends refused sessions upstream.
 */
import { CLIENT_TRIGGERED_LOG_INTERVAL_MS, LogThrottle } from '../../common/log-throttle.js';
import type { Logger } from '../../common/logger.js';
import type { PolicySnapshot } from '../../policy/snapshot.js';
import { inspectLoginResponse, inspectRefusedLoginResponse, type LoginSession } from './login-response.js';
import { revokeAccessToken, type HomeserverClient } from './revoke-session.js';
import type { LocalAnswer } from './local-answer.js';
import type { VettedLogin } from './login-response.js';

/**
 * How the vetted login was forwarded: as sent (a `proxy` login, by its reason: token, 3PID,
 * unmanaged, passthrough), `verified-password` (a right policy password, forwarded with the
 * derived one) or `refused-password` (a wrong policy password, forwarded with an unmatchable one).
 */
export type ForwardedLogin = VettedLogin | 'refused-password';

/**
 * Vets Synapse's answer to a forwarded login: null = send it to the client unchanged; a
 * {@link LocalAnswer} = send that instead. Before a refusal is answered any new session is
 * logged out upstream, so the token Synapse minted is dead even though nobody ever saw it.
 */
export type LoginResponseGuard = (status: number, body: Uint8Array, snapshot: PolicySnapshot, forwarded: ForwardedLogin) => Promise<LocalAnswer | null>;

/**
 * Builds the guard for one gateway thread. `onSession` is told of each session a passed login
 * answer created (the thread seeds its token cache with it).
 */
export function createLoginResponseGuard(homeserver: HomeserverClient, logger: Logger, onSession?: (session: LoginSession) => void): LoginResponseGuard {
  // While Synapse's logout fails, every refused login of a client writes one: an error, throttled.
  const unrevokedLog = new LogThrottle(CLIENT_TRIGGERED_LOG_INTERVAL_MS);
  return async (status, body, snapshot, forwarded) => {
    const verdict = forwarded === 'refused-password' ? inspectRefusedLoginResponse(status, body) : inspectLoginResponse(status, body, snapshot, forwarded);
    if (verdict.kind === 'pass') {
      if (verdict.session !== undefined) onSession?.(verdict.session);
      return null;
    }
    // A wrong password is an everyday event, not a refused session: nothing to report.
    if (forwarded === 'refused-password' && verdict.accessToken === null) return verdict.answer;
    const revoked = verdict.accessToken === null ? false : await revokeAccessToken(homeserver, verdict.accessToken);
    const fields = { userId: verdict.userId, errcode: verdict.answer.errcode, revoked };
    if (verdict.accessToken !== null && !revoked) {
      const suppressed = unrevokedLog.admit();
      if (suppressed !== null) logger.error({ ...fields, suppressed }, 'login refused after the homeserver answered, and its session could not be logged out');
    }
    else logger.warn(fields, 'login refused after the homeserver answered');
    return verdict.answer;
  };
}
