import { CorporalError } from '../../common/errors.js';
import { ErrCode } from '../../common/matrix-errors.js';
import { getUser, loginAsUser } from './admin-users-api.js';
import { logout, passwordLogin, whoamiDevice } from './client-api.js';
import { derivedPassword } from '../../common/derived-password.js';
import { ADMIN_DEVICE_ID, PLAN_DEVICE_ID } from './admin-session.js';
import type { SynapseHttp, TokenSource } from './synapse-http.js';

/** Error codes of {@link AccessTokens.mintAccessToken}'s refusals. */
export const AccessTokenErrorCode = {
  UserNotFound: 'CORP_ERR_USER_NOT_FOUND',
  UserLocked: 'CORP_ERR_USER_LOCKED',
  UserDeactivated: 'CORP_ERR_USER_DEACTIVATED',
  ReservedDevice: 'CORP_ERR_RESERVED_DEVICE',
} as const;

/**
 * Devices of Corporal's own sessions. A token minted for the corporal user on one of them would
 * share it: Corporal's logout at shutdown (or the plan command's at its end) deletes the device
 * with every token on it, and revoking the operator's token logged Corporal's admin session out
 * (red team 11, F4). The device of the token Corporal acts with now (`Corporal.AccessToken`'s,
 * whatever it is) is reserved as well (quality review 5, S4).
 */
const RESERVED_DEVICE_IDS: ReadonlySet<string> = new Set([ADMIN_DEVICE_ID, PLAN_DEVICE_ID]);

/** Options of {@link AccessTokens.mintAccessToken} (matrix-corporal's `access-token/new` body). */
export interface MintAccessTokenOptions {
  /** Device id; used only for the corporal user itself (admin-minted tokens have no device). */
  deviceId: string;
  /** Validity; 0 or absent = the token never expires. */
  validitySeconds?: number;
}

/** Dependencies of {@link AccessTokens}. */
export interface AccessTokensOptions {
  http: SynapseHttp;
  /** The admin session (or a fixed admin token). */
  admin: string | TokenSource;
  /** `Corporal.UserID`. */
  corporalUserId: string;
  /** `Matrix.AuthSharedSecret`. */
  authSharedSecret: string;
}

/** The token logic behind the HTTP API's `/user/{id}/access-token` routes. */
export class AccessTokens {
  readonly #options: AccessTokensOptions;

  constructor(options: AccessTokensOptions) {
    this.#options = options;
  }

  /**
   * A new access token of `userId`. For an ordinary user: the admin login-as-user API, with
   * `valid_until_ms` when `validitySeconds` > 0 (no device is created; `deviceId` is ignored, as in
   * matrix-corporal). For the corporal user itself (the admin API refuses "login as self"): a
   * fresh password login with the derived password on `deviceId` (not one of Corporal's own
   * devices, nor the device of the token Corporal acts with: one whoami), validity ignored.
   *
   * Refuses (typed `CorporalError`s, see {@link AccessTokenErrorCode}) a user Synapse does not
   * know, and a **locked** or deactivated one: Synapse would mint a token for them anyway, and a
   * minted token outlives deactivation and works again once a locked user is unlocked.
   */
  async mintAccessToken(userId: string, options: MintAccessTokenOptions): Promise<string> {
    const { http, admin, corporalUserId, authSharedSecret } = this.#options;
    if (userId === corporalUserId) {
      if (RESERVED_DEVICE_IDS.has(options.deviceId) || (await whoamiDevice(http, admin)).deviceId === options.deviceId) {
        throw refusal(AccessTokenErrorCode.ReservedDevice, `device ${options.deviceId} is reserved for Corporal's own sessions; choose another deviceId`, 400, ErrCode.InvalidParam);
      }
      return (await passwordLogin(http, userId, derivedPassword(authSharedSecret, userId), options.deviceId)).accessToken;
    }
    const user = await getUser(http, admin, userId);
    if (user === null) throw refusal(AccessTokenErrorCode.UserNotFound, `${userId} does not exist`, 404, ErrCode.NotFound);
    if (user.deactivated) throw refusal(AccessTokenErrorCode.UserDeactivated, `${userId} is deactivated`, 403, ErrCode.UserDeactivated);
    if (user.locked) throw refusal(AccessTokenErrorCode.UserLocked, `${userId} is locked (inactive)`, 403, ErrCode.UserLocked);
    const validitySeconds = options.validitySeconds ?? 0;
    return loginAsUser(http, admin, userId, validitySeconds > 0 ? Date.now() + validitySeconds * 1000 : null);
  }

  /** Logs the token out; a token Synapse does not know counts as revoked. */
  async revokeAccessToken(token: string): Promise<void> {
    await logout(this.#options.http, token);
  }
}

function refusal(code: string, message: string, status: number, errcode: string): CorporalError {
  return new CorporalError(code, message, { source: 'client', status, errcode });
}
