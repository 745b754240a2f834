import { interceptors, request, type Dispatcher } from 'undici';
import { takeBasicAuth } from '../../common/service-url.js';
import { createOutboundAgent } from '../../common/outbound-agent.js';
import { CorporalError } from '../../common/errors.js';
import { BodyLimitExceededError, discardBody } from '../../common/bounded-body.js';
import { isDecodingError, readBoundedDecodedBody } from '../../common/decoded-body.js';
import { SERVICE_CLIENT_HEADERS } from '../../common/service-client.js';

/** Error code of every failure to read an avatar source. */
export const AVATAR_SOURCE_ERROR = 'CORP_ERR_AVATAR_SOURCE';

/** Redirects followed when downloading an avatar. */
export const AVATAR_MAX_REDIRECTS = 5;

/** An avatar image read from its source URI. */
export interface AvatarSource {
  /** The image's media type (`image/…`), parameters dropped. */
  contentType: string;
  data: Buffer;
}

/** Limits of {@link readAvatarSource}. */
export interface AvatarSourceLimits {
  /** `Reconciliation.AvatarMaxBytes`. */
  maxBytes: number;
  /** Deadline of a download: connect, redirects, headers and body. */
  timeoutMs: number;
  /** From {@link createAvatarDispatcher}. */
  dispatcher: Dispatcher;
}

/**
 * The dispatcher avatar downloads go through: its own connection pool (never the homeserver's),
 * following at most {@link AVATAR_MAX_REDIRECTS} redirects, through the proxy named by
 * `HTTP_PROXY`/`HTTPS_PROXY` unless `NO_PROXY` exempts the host (matrix-corporal's `http.Get` did
 * the same; common/outbound-agent.ts). Closed by whoever creates it.
 */
export function createAvatarDispatcher(timeoutMs: number): Dispatcher {
  return createOutboundAgent({
    connectTimeoutMs: timeoutMs,
    agent: { headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connections: 4 },
  }).compose(interceptors.redirect({ maxRedirections: AVATAR_MAX_REDIRECTS }));
}

/**
 * Reads the image behind a policy's `avatarUri`:
 * - `data:<type>[;base64],<payload>` (RFC 2397; matrix-corporal accepted only base64 payloads and
 *   did not check base64 strictly — Corporal refuses malformed base64);
 * - `http:`/`https:`: a GET with a deadline, at most {@link AVATAR_MAX_REDIRECTS} redirects, status
 *   200 only, and a body bounded by `maxBytes` (matrix-corporal had neither limit).
 * Either way the type must be `image/*` and the size at most `maxBytes`. Errors name a URL by its
 * origin only: paths and queries may carry credentials.
 */
export async function readAvatarSource(uri: string, limits: AvatarSourceLimits): Promise<AvatarSource> {
  if (uri.startsWith('data:')) return checked(readDataUri(uri), limits.maxBytes, 'data: URI');
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw sourceError('the avatar URI is neither a data: URI nor a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw sourceError(`avatar URIs must be data:, http: or https:, not ${url.protocol}`);
  const where = url.origin;
  // User info in the URL is sent as Basic auth, as Go's `http.Get` did (undici drops it from a
  // redirect to another origin); it never reaches a message.
  const basicAuth = takeBasicAuth(url);
  if (basicAuth === undefined) throw sourceError(`the avatar URL of ${where} has user info with an invalid %-escape`);
  const signal = AbortSignal.timeout(limits.timeoutMs);
  try {
    const headers: Record<string, string> = { accept: 'image/*', ...SERVICE_CLIENT_HEADERS };
    if (basicAuth !== null) headers['authorization'] = basicAuth;
    const response = await request(url, { method: 'GET', dispatcher: limits.dispatcher, signal, headers });
    if (response.statusCode !== 200) {
      discardBody(response.body);
      throw sourceError(`avatar download from ${where} answered HTTP ${response.statusCode}${response.statusCode >= 300 && response.statusCode < 400 ? ' (too many redirects)' : ''}`);
    }
    const contentType = mediaType(response.headers['content-type']);
    if (!contentType.startsWith('image/')) {
      discardBody(response.body);
      throw sourceError(`avatar download from ${where} is ${contentType === '' ? 'untyped' : contentType}, not an image`);
    }
    const data = await readBoundedDecodedBody(response.body, response.headers, limits.maxBytes);
    return checked({ contentType, data }, limits.maxBytes, where);
  } catch (err) {
    if (err instanceof CorporalError) throw err;
    if (err instanceof BodyLimitExceededError) throw sourceError(`avatar from ${where} exceeds ${limits.maxBytes} bytes`);
    if (signal.aborted) throw sourceError(`avatar download from ${where} took longer than ${limits.timeoutMs} ms`, true);
    if (isDecodingError(err)) throw sourceError(`avatar from ${where} could not be decoded: ${err instanceof Error ? err.message : String(err)}`);
    throw sourceError(`avatar download from ${where} failed: ${(err as { code?: string }).code ?? (err instanceof Error ? err.message : String(err))}`, true);
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function readDataUri(uri: string): AvatarSource {
  const comma = uri.indexOf(',');
  if (comma < 0) throw sourceError('the avatar data: URI has no ","');
  const header = uri.slice('data:'.length, comma);
  const payload = uri.slice(comma + 1);
  const [type = '', ...params] = header.split(';');
  const isBase64 = params.some((param) => param.trim().toLowerCase() === 'base64');
  if (isBase64) {
    const compact = payload.replace(/\s+/g, '');
    if (!BASE64.test(compact) || compact.length % 4 === 1) throw sourceError('the avatar data: URI has malformed base64');
    return { contentType: mediaType(type), data: Buffer.from(compact, 'base64') };
  }
  try {
    return { contentType: mediaType(type), data: Buffer.from(decodeURIComponent(payload), 'latin1') };
  } catch {
    throw sourceError('the avatar data: URI has malformed percent-encoding');
  }
}

function checked(source: AvatarSource, maxBytes: number, where: string): AvatarSource {
  if (!source.contentType.startsWith('image/')) throw sourceError(`the avatar ${where} is ${source.contentType === '' ? 'untyped' : source.contentType}, not an image`);
  if (source.data.length === 0) throw sourceError(`the avatar ${where} is empty`);
  if (source.data.length > maxBytes) throw sourceError(`the avatar ${where} exceeds ${maxBytes} bytes`);
  return source;
}

function mediaType(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return (value ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

function sourceError(message: string, retryable = false): CorporalError {
  return new CorporalError(AVATAR_SOURCE_ERROR, message, { source: 'upstream', status: 502, retryable });
}
