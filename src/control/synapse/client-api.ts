import { ErrCode } from '../../common/matrix-errors.js';
import { stringField } from './json-fields.js';
import { isMatrixError } from './synapse-errors.js';
import type { Auth, SynapseHttp } from './synapse-http.js';

/** Client-API calls of the reconciler (`/_matrix/client/v3`, `/_matrix/media/v3`). */

/** A session opened by {@link passwordLogin}. */
export interface LoginSession {
  userId: string;
  accessToken: string;
  deviceId: string;
}

/**
 * `POST /_matrix/client/v3/login` with `m.login.password` and an `m.id.user` identifier (the full
 * MXID), on the given device. Not rate-limit retried beyond the default: login limits are keyed by
 * account and address, and the override API does not lift them.
 */
export async function passwordLogin(http: SynapseHttp, userId: string, password: string, deviceId: string): Promise<LoginSession> {
  const call = 'client.login';
  const answer = await http.requestObject({
      call,
      method: 'POST',
      path: '/_matrix/client/v3/login',
      json: { type: 'm.login.password', identifier: { type: 'm.id.user', user: userId }, password, device_id: deviceId, initial_device_display_name: 'Corporal' },
    });
  return { userId: stringField(answer, 'user_id', call), accessToken: stringField(answer, 'access_token', call), deviceId: stringField(answer, 'device_id', call) };
}

/** Ends the token's session (`POST /_matrix/client/v3/logout`). A token Synapse no longer knows counts as logged out. */
export async function logout(http: SynapseHttp, token: string): Promise<void> {
  try {
    await http.request({ call: 'client.logout', method: 'POST', path: '/_matrix/client/v3/logout', json: {}, auth: token });
  } catch (err) {
    if (!isMatrixError(err, ErrCode.UnknownToken)) throw err;
  }
}

/** Whose token this is (`GET /_matrix/client/v3/account/whoami`). */
export async function whoami(http: SynapseHttp, token: Auth): Promise<string> {
  return (await whoamiDevice(http, token)).userId;
}

/** Whose token this is, and its device (null for a token without one, such as one minted by the admin API). */
export async function whoamiDevice(http: SynapseHttp, token: Auth): Promise<{ userId: string; deviceId: string | null }> {
  const call = 'client.whoami';
  const answer = await http.requestObject({ call, method: 'GET', path: '/_matrix/client/v3/account/whoami', auth: token });
  const deviceId = answer['device_id'];
  return { userId: stringField(answer, 'user_id', call), deviceId: typeof deviceId === 'string' ? deviceId : null };
}

/** Uploads bytes to the media repository as the token's user (`POST /_matrix/media/v3/upload`); returns the mxc URI. */
export async function uploadMedia(http: SynapseHttp, user: Auth, data: Uint8Array, contentType: string, fileName: string): Promise<string> {
  const call = 'media.upload';
  const answer = await http.requestObject({ call, method: 'POST', path: '/_matrix/media/v3/upload', query: { filename: fileName }, bytes: { data, contentType }, auth: user });
  return stringField(answer, 'content_uri', call);
}

/**
 * Replaces one global account-data object of the token's user
 * (`PUT /_matrix/client/v3/user/{id}/account_data/{type}`). Synapse accepts this only from the user
 * itself, so the caller passes a token of `userId`.
 */
export async function putAccountData(http: SynapseHttp, user: Auth, userId: string, type: string, content: Record<string, unknown>): Promise<void> {
  await http.request({
    call: 'client.account_data.put',
    method: 'PUT',
    path: `/_matrix/client/v3/user/${encodeURIComponent(userId)}/account_data/${encodeURIComponent(type)}`,
    json: content,
    auth: user,
  });
}
