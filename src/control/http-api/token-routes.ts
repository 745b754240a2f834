import type { Logger } from '../../common/logger.js';
import { ErrCode } from '../../common/matrix-errors.js';
import type { PolicyStore } from '../policy-store.js';
import type { ReconcilerHost } from '../reconciler-host.js';
import { whoami } from '../synapse/client-api.js';
import { isMatrixError } from '../synapse/synapse-errors.js';
import type { SynapseHttp } from '../synapse/synapse-http.js';
import { apiError } from './api-server.js';
import { failureResponse, unavailableResponse } from './failure.js';
import { decodeBodyFields } from './json-body-fields.js';
import { SMALL_BODY_BYTES, type ApiRequest, type ApiResponse, type Route } from './route.js';

/** What the token endpoints need. */
export interface TokenRoutesOptions {
  host: ReconcilerHost;
  store: PolicyStore;
  /** `Matrix.HomeserverDomainName`. */
  homeserverDomain: string;
  /** Drops the tokens from every gateway thread's identity cache (`identity.evict` to the supervisor). */
  evict: (tokens: string[]) => void;
  logger: Logger;
}

const MINT = 'Could not obtain access token';
const REVOKE = 'Could not destroy access token';

/**
 * matrix-corporal's token endpoints, with its validation and messages but real statuses:
 * - `POST /_matrix/corporal/user/{userId}/access-token/new` `{"deviceId", "validitySeconds"?}` →
 *   200 `{"accessToken"}`. Refused: a user inactive in the policy (403 `M_USER_DEACTIVATED`),
 *   unknown (404), locked or deactivated on Synapse (403) — see `AccessTokens.mintAccessToken`.
 * - `DELETE /_matrix/corporal/user/{userId}/access-token` `{"accessToken"}` → 200 `{}`, after
 *   which every gateway thread forgets the token. Unlike matrix-corporal, the token must belong
 *   to `{userId}` (403 otherwise); a token Synapse no longer knows counts as revoked.
 * Both: `{userId}` not on the homeserver domain → 400 `M_INVALID_USERNAME`; a body that is not a
 * JSON object of the right field types → 400 `M_BAD_JSON`; a missing field → 400
 * `M_MISSING_PARAM`; reconciler not ready → 503; Synapse failing → 502/504.
 */
export function tokenRoutes(options: TokenRoutesOptions): Route[] {
  return [
    {
      pattern: '/_matrix/corporal/user/{userId}/access-token/new',
      methods: { POST: { id: 'user.access_token.new', maxBodyBytes: SMALL_BODY_BYTES, handle: (request) => mint(options, request) } },
    },
    {
      pattern: '/_matrix/corporal/user/{userId}/access-token',
      methods: { DELETE: { id: 'user.access_token.delete', maxBodyBytes: SMALL_BODY_BYTES, handle: (request) => revoke(options, request) } },
    },
  ];
}

async function mint(options: TokenRoutesOptions, request: ApiRequest): Promise<ApiResponse> {
  const { host, store, logger } = options;
  const userId = request.params['userId']!;
  const badUser = checkUserId(userId, options.homeserverDomain);
  if (badUser !== null) return badUser;
  const body = decodeBodyFields(request.body, { deviceId: 'string', validitySeconds: 'integer' });
  if (body === null) return apiError(400, ErrCode.BadJson, 'Bad body payload');
  const deviceId = (body.deviceId as string | undefined) ?? '';
  if (deviceId === '') return apiError(400, ErrCode.MissingParam, 'Bad body payload - empty or missing device id');
  const validitySeconds = (body.validitySeconds as number | undefined) ?? 0;
  if (validitySeconds < 0 || !Number.isSafeInteger(validitySeconds * 1000)) {
    return apiError(400, ErrCode.InvalidParam, 'Bad body payload - validitySeconds must be 0 (never expires) or a positive number of seconds');
  }
  // The reconciler locks inactive users, but maybe not yet: the policy decides at once.
  if (store.current?.snapshot.users.get(userId)?.active === false) {
    return apiError(403, ErrCode.UserDeactivated, `${MINT}: ${userId} is inactive in the policy`);
  }
  const reconciler = host.reconciler;
  if (reconciler === null) return unavailableResponse(MINT, host.unavailableReason() ?? 'the reconciler is not ready');
  try {
    const accessToken = await reconciler.tokens.mintAccessToken(userId, { deviceId, validitySeconds });
    logger.info({ userId, deviceId, validitySeconds }, 'access token issued through the API');
    return { status: 200, body: { accessToken } };
  } catch (err) {
    return failureResponse(MINT, err, logger);
  }
}

async function revoke(options: TokenRoutesOptions, request: ApiRequest): Promise<ApiResponse> {
  const { host, logger } = options;
  const userId = request.params['userId']!;
  const badUser = checkUserId(userId, options.homeserverDomain);
  if (badUser !== null) return badUser;
  const body = decodeBodyFields(request.body, { accessToken: 'string' });
  if (body === null) return apiError(400, ErrCode.BadJson, 'Bad body payload');
  const token = (body.accessToken as string | undefined) ?? '';
  if (token === '') return apiError(400, ErrCode.MissingParam, 'Bad body payload - empty or missing access token');
  const reconciler = host.reconciler;
  if (reconciler === null) return unavailableResponse(REVOKE, host.unavailableReason() ?? 'the reconciler is not ready');
  try {
    const owner = await tokenOwner(reconciler.http, token);
    if (owner.kind === 'user' && owner.userId !== userId) {
      return apiError(403, ErrCode.Forbidden, `${REVOKE}: the access token does not belong to ${userId}`);
    }
    if (owner.kind !== 'unknown') await reconciler.tokens.revokeAccessToken(token);
    options.evict([token]);
    logger.info({ userId, owner: owner.kind }, 'access token revoked through the API');
    return { status: 200, body: {} };
  } catch (err) {
    return failureResponse(REVOKE, err, logger);
  }
}

/** 400 `M_INVALID_USERNAME` unless `userId` is `@localpart:<homeserverDomain>`. */
function checkUserId(userId: string, homeserverDomain: string): ApiResponse | null {
  const colon = userId.indexOf(':');
  if (userId.startsWith('@') && colon > 1 && userId.slice(colon + 1) === homeserverDomain) return null;
  return apiError(400, ErrCode.InvalidUsername, `Bad user id (${userId}) - not part of the homeserver domain (${homeserverDomain})`);
}

/** What Synapse says about a token: its owner, or why it cannot say. */
type TokenOwner = { kind: 'user'; userId: string } | { kind: 'unknown' } | { kind: 'locked' };

/**
 * Whose token this is: a user; `unknown` when Synapse does not know it (already logged out or
 * expired); `locked` when its owner is locked — Synapse then refuses whoami but still accepts the
 * logout, so the owner cannot be checked and the token is revoked anyway (a locked account's token
 * is refused everywhere else).
 */
async function tokenOwner(http: SynapseHttp, token: string): Promise<TokenOwner> {
  try {
    return { kind: 'user', userId: await whoami(http, token) };
  } catch (err) {
    if (isMatrixError(err, ErrCode.UnknownToken)) return { kind: 'unknown' };
    if (isMatrixError(err, ErrCode.UserLocked)) return { kind: 'locked' };
    throw err;
  }
}
