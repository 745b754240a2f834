import { CorporalError, describeError } from '../../common/errors.js';
import { ErrCode } from '../../common/matrix-errors.js';
import type { Logger } from '../../common/logger.js';
import { getUser, liftRateLimits } from './admin-users-api.js';
import { logout, passwordLogin, whoami, type LoginSession } from './client-api.js';
import { authIsDelegated, delegatedAuthMessage } from './delegated-auth.js';
import { derivedPassword } from '../../common/derived-password.js';
import { registerWithSharedSecret } from './registration-api.js';
import { isMatrixError, isUpstreamStatus } from './synapse-errors.js';
import type { SynapseHttp, TokenSource } from './synapse-http.js';

/** Device id of the admin session Corporal logs in with. */
export const ADMIN_DEVICE_ID = 'corporal';

/**
 * Device of the plan command's admin session. Not the serving Corporal's device: logging out at
 * the end deletes the device and every token on it.
 */
export const PLAN_DEVICE_ID = 'corporal-plan';

/** Error code of every failure to open or renew the admin session. */
export const ADMIN_SESSION_ERROR = 'CORP_ERR_ADMIN_SESSION';

/** Options of {@link AdminSession}. */
export interface AdminSessionOptions {
  http: SynapseHttp;
  /** `Corporal.UserID`. */
  userId: string;
  /** `Corporal.AccessToken`: use this token instead of logging in (null: log in). */
  accessToken: string | null;
  /** `Matrix.AuthSharedSecret` (key of the derived password). */
  authSharedSecret: string;
  /** `Matrix.RegistrationSharedSecret` ("" disables registering the admin). */
  registrationSharedSecret: string;
  /**
   * Never register the admin, whatever `registrationSharedSecret` is (the `plan` command changes
   * nothing), and say so when its login is refused instead of blaming an empty secret.
   */
  neverRegister?: boolean;
  /** `Reconciliation.LiftRateLimits`. */
  liftRateLimits: boolean;
  /**
   * Device the session logs in on; default {@link ADMIN_DEVICE_ID}. Another process (the `plan`
   * command) passes its own: logging out deletes the device, and with it every token on it.
   */
  deviceId?: string;
  logger: Logger;
}

/**
 * What the session says (error and log line) when Synapse refuses a configured `Corporal.AccessToken`
 * at runtime: Corporal never replaces that token by a login of its own.
 */
export const CONFIGURED_TOKEN_REFUSED = 'Corporal.AccessToken was refused by Synapse (revoked or expired): replace it in the configuration and restart';

/**
 * Added to every error about a refused derived password of the admin: a changed
 * `Matrix.AuthSharedSecret` is the likely cause on an account that worked before.
 */
export const AUTH_SECRET_ROTATION_HINT =
  'if Matrix.AuthSharedSecret was changed, the account still has the password derived from the old secret: ' +
  'see "Rotating Matrix.AuthSharedSecret" in docs/deployment.md';

/** How the session got its token. */
export type AdminSessionOrigin = 'access-token' | 'login' | 'registered';

/**
 * The corporal admin user's session, the token every admin call carries.
 *
 * - `Corporal.AccessToken` set: that token, checked with whoami. Corporal never logs it out.
 * - Otherwise: `m.login.password` with the derived password on device {@link ADMIN_DEVICE_ID} (or
 *   `deviceId`). That succeeds on stock Synapse once the derived password is the account's real
 *   password, and always with the shared-secret-auth module. When the login is refused and shared-secret
 *   registration is configured, the admin is registered (`admin: true`, derived password) and the
 *   login repeated; an account that exists with another password is reported, never changed.
 *
 * The account must be a server admin. Its rate limits are lifted at start when configured (this
 * also covers every token it mints for other users). A token of a session Corporal opened that is
 * refused as unknown is replaced once per refusal ({@link renew}); a refused `Corporal.AccessToken`
 * is never replaced: every call then fails with {@link CONFIGURED_TOKEN_REFUSED}, as a start with that
 * token would. {@link stop} logs out a session Corporal opened.
 */
export class AdminSession implements TokenSource {
  readonly userId: string;
  readonly #options: AdminSessionOptions;
  #token: string | null = null;
  #owned = false;
  #renewing: Promise<string> | null = null;
  /** Set by {@link stop}: a call still in flight then must not open a session nobody logs out. */
  #stopped = false;
  /** When Synapse first refused `Corporal.AccessToken` at runtime (it is logged once, not per call); null until then. */
  #configuredRefusedAt: number | null = null;

  constructor(options: AdminSessionOptions) {
    this.#options = options;
    this.userId = options.userId;
  }

  /**
   * Opens the session (see the class comment); throws `CORP_ERR_ADMIN_SESSION` with the reason. A
   * Synapse that delegates authentication to MAS is named as the reason before anything is tried.
   */
  async start(): Promise<AdminSessionOrigin> {
    await this.#refuseDelegatedAuth();
    const origin = await this.#open();
    try {
      await this.#checkAdmin();
      if (this.#options.liftRateLimits) await liftRateLimits(this.#options.http, this, this.userId);
    } catch (err) {
      await this.stop();
      throw err instanceof CorporalError && err.code === ADMIN_SESSION_ERROR ? err : sessionError(describeError(err), err);
    }
    this.#options.logger.info({ userId: this.userId, origin, rateLimitsLifted: this.#options.liftRateLimits }, 'admin session ready');
    return origin;
  }

  /** The current admin token; throws when the session is not open. */
  async token(): Promise<string> {
    if (this.#token === null) throw sessionError('the admin session is not open');
    return this.#token;
  }

  /**
   * Replaces a token Synapse refused as unknown by logging in again with the derived password.
   * Concurrent callers share one login. A refused `Corporal.AccessToken` is not replaced: this throws
   * {@link CONFIGURED_TOKEN_REFUSED} (logged at error level the first time). Throws once the
   * session is stopped.
   */
  async renew(stale: string): Promise<string> {
    if (this.#stopped) throw sessionError('the admin session is closed');
    if (this.#token !== null && this.#token !== stale) return this.#token;
    if (this.#options.accessToken !== null) throw this.#configuredTokenRefused();
    this.#renewing ??= this.#relogin().finally(() => {
      this.#renewing = null;
    });
    return this.#renewing;
  }

  /**
   * Logs out a session Corporal opened itself (a configured token is left alone) and closes this
   * one for good: {@link token} and {@link renew} then throw (a new session is a new instance).
   * Idempotent.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    const token = this.#token;
    this.#token = null;
    if (token === null || !this.#owned) return;
    try {
      await logout(this.#options.http, token);
    } catch (err) {
      this.#options.logger.warn({ err: describeError(err) }, 'admin session logout failed');
    }
  }

  async #refuseDelegatedAuth(): Promise<void> {
    const evidence = await authIsDelegated(this.#options.http).catch((err: unknown) => {
      throw sessionError(`Synapse did not answer: ${describeError(err)}`, err);
    });
    if (evidence !== null) throw sessionError(delegatedAuthMessage(evidence));
  }

  async #open(): Promise<AdminSessionOrigin> {
    if (this.#options.accessToken === null) return this.#logInOrRegister();
    const owner = await whoami(this.#options.http, this.#options.accessToken).catch((err: unknown) => {
      throw sessionError(`Corporal.AccessToken was refused by Synapse: ${describeError(err)}`, err);
    });
    if (owner !== this.userId) throw sessionError(`Corporal.AccessToken belongs to ${owner}, not to Corporal.UserID ${this.userId}`);
    this.#token = this.#options.accessToken;
    this.#owned = false;
    return 'access-token';
  }

  /**
   * Why the open session cannot work any more — Synapse refused `Corporal.AccessToken`, which is
   * never replaced — with when that was first seen (epoch ms); null while it works. For `/status`.
   */
  failure(): { at: number; message: string } | null {
    return this.#configuredRefusedAt === null ? null : { at: this.#configuredRefusedAt, message: `admin session: ${CONFIGURED_TOKEN_REFUSED}` };
  }

  #configuredTokenRefused(): CorporalError {
    if (this.#configuredRefusedAt === null) {
      this.#configuredRefusedAt = Date.now();
      this.#options.logger.error({ userId: this.userId, code: ADMIN_SESSION_ERROR }, CONFIGURED_TOKEN_REFUSED);
    }
    return sessionError(CONFIGURED_TOKEN_REFUSED);
  }

  async #checkAdmin(): Promise<void> {
    const self = await getUser(this.#options.http, this, this.userId).catch((err: unknown) => {
      if (isUpstreamStatus(err, 403)) return null;
      throw err;
    });
    if (self === null || !self.admin) throw sessionError(`${this.userId} is not a Synapse server admin; Corporal needs the admin API`);
  }

  async #relogin(): Promise<string> {
    this.#options.logger.warn({ userId: this.userId }, 'admin token refused as unknown; logging in again');
    const session = await this.#login().catch((err: unknown) => {
      throw sessionError(`logging in again as ${this.userId} failed: ${describeError(err)}`, err);
    });
    if (this.#stopped) {
      // Stopped while logging in: this session is nobody's, so it goes at once.
      await logout(this.#options.http, session.accessToken).catch(() => undefined);
      throw sessionError('the admin session is closed');
    }
    this.#adopt(session);
    return session.accessToken;
  }

  async #logInOrRegister(): Promise<AdminSessionOrigin> {
    try {
      this.#adopt(await this.#login());
      return 'login';
    } catch (err) {
      if (!isUpstreamStatus(err, 403)) throw sessionError(`logging in as ${this.userId} failed: ${describeError(err)}`, err);
      if (this.#options.neverRegister === true) {
        throw sessionError(
          `Synapse refused the derived password of ${this.userId}, and this command never registers it: if it does not exist yet, ` +
            `start serve once with Matrix.RegistrationSharedSecret set (serve registers it through that secret); if it does, set its password to the derived ` +
            `one, load the shared-secret-auth module, or set Corporal.AccessToken (${AUTH_SECRET_ROTATION_HINT})`,
          err,
        );
      }
      if (this.#options.registrationSharedSecret === '') {
        throw sessionError(`Synapse refused the derived password of ${this.userId} and Matrix.RegistrationSharedSecret is empty, so Corporal cannot create it; set Corporal.AccessToken (${AUTH_SECRET_ROTATION_HINT})`, err);
      }
    }
    await this.#register();
    try {
      this.#adopt(await this.#login());
    } catch (err) {
      throw sessionError(`${this.userId} was registered but logging in with its derived password failed: ${describeError(err)}`, err);
    }
    return 'registered';
  }

  async #register(): Promise<void> {
    const localpart = this.userId.slice(1, this.userId.indexOf(':'));
    try {
      const created = await registerWithSharedSecret(this.#options.http, this.#options.registrationSharedSecret, {
        username: localpart,
        password: derivedPassword(this.#options.authSharedSecret, this.userId),
        admin: true,
      });
      if (created !== this.userId) throw sessionError(registeredOtherMessage(this.userId, created));
      this.#options.logger.info({ userId: this.userId }, 'registered the corporal admin user through shared-secret registration');
    } catch (err) {
      if (err instanceof CorporalError && err.code === ADMIN_SESSION_ERROR) throw err;
      if (isMatrixError(err, ErrCode.UserInUse)) {
        throw sessionError(
          `${this.userId} exists but Synapse refused its derived password: set that account's password to the derived one, ` +
            `load the shared-secret-auth module, or set Corporal.AccessToken (${AUTH_SECRET_ROTATION_HINT}; if Synapse's server_name is not ` +
            `Matrix.HomeserverDomainName, the account it found is ${localpart} on its own server name: fix the domain instead)`,
          err,
        );
      }
      // Synapse answers 403 to shared-secret registration only for a MAC made with another secret.
      const hint = isUpstreamStatus(err, 403) ? ": Matrix.RegistrationSharedSecret is not Synapse's registration_shared_secret" : '';
      throw sessionError(`registering ${this.userId} failed: ${describeError(err)}${hint}`, err);
    }
  }

  async #login(): Promise<LoginSession> {
    const deviceId = this.#options.deviceId ?? ADMIN_DEVICE_ID;
    const session = await passwordLogin(this.#options.http, this.userId, derivedPassword(this.#options.authSharedSecret, this.userId), deviceId);
    if (session.userId !== this.userId) {
      await logout(this.#options.http, session.accessToken).catch(() => undefined);
      throw sessionError(`logging in as ${this.userId} opened a session of ${session.userId}`);
    }
    return session;
  }

  #adopt(session: LoginSession): void {
    this.#token = session.accessToken;
    this.#owned = true;
  }
}

/**
 * Why registering `wanted` created `created`: another server name means Matrix.HomeserverDomainName
 * (of which Corporal.UserID must be) is not Synapse's server_name, which nothing else shows as
 * plainly (its logins are refused as if the password were wrong); else Synapse lower-cased the localpart.
 */
function registeredOtherMessage(wanted: string, created: string): string {
  const serverName = created.slice(created.indexOf(':') + 1);
  const domain = wanted.slice(wanted.indexOf(':') + 1);
  if (serverName !== domain) {
    return `registering ${wanted} created ${created}: Synapse's server_name is ${serverName}, not ${domain}; set ` +
      `Matrix.HomeserverDomainName and Corporal.UserID to ${serverName}. ${created} now exists with the password derived for ` +
      `${wanted}: reset it to the derived one afterwards, or set Corporal.AccessToken`;
  }
  return `registering ${wanted} created ${created} (Synapse lower-cases localparts); fix Corporal.UserID`;
}

function sessionError(message: string, cause?: unknown): CorporalError {
  return new CorporalError(ADMIN_SESSION_ERROR, `admin session: ${message}`, { source: 'upstream', status: 502, cause });
}
