/**
 * Ending a session Synapse just created but the gateway refuses to hand out.
 */
import type { Dispatcher } from 'undici';
import { withDeadline } from '../../common/deadline.js';

/** Where the homeserver's client API is reached from this gateway thread. */
export interface HomeserverClient {
  /** Keep-alive pool (or agent) to the homeserver. */
  dispatcher: Dispatcher;
  /** `http://host:port` of `Matrix.HomeserverApiEndpoint`. */
  origin: string;
  /** Its path without a trailing slash (`''` for none). */
  basePath: string;
  /** Deadline of one call (`Matrix.TimeoutMilliseconds`). */
  timeoutMs: number;
}

/**
 * `POST /_matrix/client/v3/logout` with `accessToken`: Synapse deletes the device, its access
 * token and any refresh token issued with it. Resolves true on a 2xx, false on any other status,
 * transport error or timeout; never rejects. The token never reaches the client either way, so a
 * failed logout leaves an orphan session nobody holds; the caller logs it.
 */
export async function revokeAccessToken(homeserver: HomeserverClient, accessToken: string): Promise<boolean> {
  try {
    return await withDeadline(homeserver.timeoutMs, () => `logout did not finish within ${homeserver.timeoutMs} ms`, async (signal) => {
      const response = await homeserver.dispatcher.request({
        origin: homeserver.origin,
        path: `${homeserver.basePath}/_matrix/client/v3/logout`,
        method: 'POST',
        headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
        body: '{}',
        signal,
        headersTimeout: homeserver.timeoutMs,
        bodyTimeout: homeserver.timeoutMs,
      });
      await response.body.dump({ limit: 64 * 1024 });
      return response.statusCode >= 200 && response.statusCode < 300;
    });
  } catch {
    return false;
  }
}
