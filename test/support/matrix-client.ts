import { request } from 'undici';
import { registrationMac } from './matrix-hmac.js';

/**
 * A small Matrix client for tests: one generic request function plus typed helpers for the calls
 * tests make most. Helpers throw {@link MatrixRequestError} on any non-2xx answer; tests that want
 * to look at a failure use {@link matrixRequest} and check `status` themselves.
 */

/** Options of {@link matrixRequest}. */
export interface MatrixRequestOptions {
  /** Access token, sent as `Authorization: Bearer`. */
  token?: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent verbatim instead of `body` (for malformed-body tests). */
  rawBody?: string | Uint8Array;
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  /** Whole-request limit (connect, headers and body). Default 30 s. */
  timeoutMs?: number;
  /** Largest response body kept. Default 16 MiB. */
  maxBodyBytes?: number;
}

/** An answer. `json` is the parsed body, or undefined when the body is empty or not JSON. */
export interface MatrixResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: unknown;
  text: string;
}

/** A non-2xx answer where a helper expected success. */
export class MatrixRequestError extends Error {
  readonly status: number;
  readonly errcode: string | undefined;
  readonly response: MatrixResponse;

  constructor(what: string, response: MatrixResponse) {
    const body = response.json as { errcode?: unknown; error?: unknown } | undefined;
    const errcode = typeof body?.errcode === 'string' ? body.errcode : undefined;
    super(`${what}: HTTP ${response.status}${errcode ? ` ${errcode}` : ''}: ${typeof body?.error === 'string' ? body.error : response.text.slice(0, 500)}`);
    this.name = 'MatrixRequestError';
    this.status = response.status;
    this.errcode = errcode;
    this.response = response;
  }
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * Sends one request to `baseUrl + path` (path already percent-encoded where needed) and reads the
 * whole answer, bounded in time and size. Never throws for an HTTP status, only for transport
 * failures, the timeout and an oversized body.
 */
export async function matrixRequest(baseUrl: string, method: string, path: string, options: MatrixRequestOptions = {}): Promise<MatrixResponse> {
  const url = new URL(path, baseUrl);
  for (const [key, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  let body: string | Uint8Array | undefined = options.rawBody;
  if (body === undefined && options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const response = await request(url, {
    method: method as 'GET',
    headers,
    body,
    signal: AbortSignal.timeout(timeoutMs),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += (chunk as Buffer).length;
    if (size > maxBodyBytes) {
      response.body.destroy();
      throw new Error(`${method} ${url.pathname}: response body exceeds ${maxBodyBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return { status: response.statusCode, headers: response.headers, json: parseJson(text), text };
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** {@link matrixRequest} that throws {@link MatrixRequestError} unless the status is 2xx; returns the JSON body. */
export async function matrixCall<T>(baseUrl: string, method: string, path: string, options: MatrixRequestOptions = {}): Promise<T> {
  const response = await matrixRequest(baseUrl, method, path, options);
  if (response.status < 200 || response.status > 299) throw new MatrixRequestError(`${method} ${path}`, response);
  return response.json as T;
}

/** Where shared-secret registration is done: a homeserver's base URL and its registration secret. */
export interface SharedSecretRegistrar {
  baseUrl: string;
  registrationSharedSecret: string;
}

/** Options of {@link registerUser}. */
export interface RegisterUserOptions {
  localpart: string;
  password: string;
  admin?: boolean;
  displayname?: string;
}

/** A logged-in user. */
export interface MatrixSession {
  userId: string;
  accessToken: string;
  deviceId: string;
}

/**
 * Creates a user through shared-secret registration (`GET` a nonce, then `POST` with the HMAC-SHA1
 * MAC; synapse.md §1.3) and returns the session Synapse opens for it.
 */
export async function registerUser(hs: SharedSecretRegistrar, options: RegisterUserOptions): Promise<MatrixSession> {
  const path = '/_synapse/admin/v1/register';
  const { nonce } = await matrixCall<{ nonce: string }>(hs.baseUrl, 'GET', path);
  const admin = options.admin ?? false;
  const created = await matrixCall<{ user_id: string; access_token: string; device_id: string }>(hs.baseUrl, 'POST', path, {
    body: {
      nonce,
      username: options.localpart,
      password: options.password,
      admin,
      ...(options.displayname === undefined ? {} : { displayname: options.displayname }),
      mac: registrationMac(hs.registrationSharedSecret, nonce, options.localpart, options.password, admin),
    },
  });
  return { userId: created.user_id, accessToken: created.access_token, deviceId: created.device_id };
}

/** `POST /_matrix/client/v3/login` with `body` as given (any login type); returns the new session. */
export async function login(baseUrl: string, body: Record<string, unknown>): Promise<MatrixSession> {
  const session = await matrixCall<{ user_id: string; access_token: string; device_id: string }>(baseUrl, 'POST', '/_matrix/client/v3/login', { body });
  return { userId: session.user_id, accessToken: session.access_token, deviceId: session.device_id };
}

/** An `m.login.password` body with an `m.id.user` identifier (localpart or full user ID). */
export function passwordLoginBody(user: string, password: string): Record<string, unknown> {
  return { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password };
}

/** `GET /account/whoami`: whose token this is. */
export async function whoami(baseUrl: string, token: string): Promise<{ userId: string; deviceId?: string }> {
  const me = await matrixCall<{ user_id: string; device_id?: string }>(baseUrl, 'GET', '/_matrix/client/v3/account/whoami', { token });
  return me.device_id === undefined ? { userId: me.user_id } : { userId: me.user_id, deviceId: me.device_id };
}

/** `POST /createRoom` with `body` (default: a private room); returns the room ID. */
export async function createRoom(baseUrl: string, token: string, body: Record<string, unknown> = {}): Promise<string> {
  const room = await matrixCall<{ room_id: string }>(baseUrl, 'POST', '/_matrix/client/v3/createRoom', { token, body });
  return room.room_id;
}

/** `POST /join/{roomIdOrAlias}`; returns the room ID joined. */
export async function joinRoom(baseUrl: string, token: string, roomIdOrAlias: string): Promise<string> {
  const joined = await matrixCall<{ room_id: string }>(baseUrl, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(roomIdOrAlias)}`, { token, body: {} });
  return joined.room_id;
}

/** `PUT /rooms/{roomId}/send/m.room.message/{txnId}` with an `m.text` body; returns the event ID. */
export async function sendMessage(baseUrl: string, token: string, roomId: string, text: string, txnId: string = `t${Date.now()}.${Math.random().toString(36).slice(2)}`): Promise<string> {
  const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${encodeURIComponent(txnId)}`;
  const sent = await matrixCall<{ event_id: string }>(baseUrl, 'PUT', path, { token, body: { msgtype: 'm.text', body: text } });
  return sent.event_id;
}

/** `GET /joined_rooms`: the IDs of the rooms the token's user is joined to. */
export async function getJoinedRooms(baseUrl: string, token: string): Promise<string[]> {
  const rooms = await matrixCall<{ joined_rooms: string[] }>(baseUrl, 'GET', '/_matrix/client/v3/joined_rooms', { token });
  return rooms.joined_rooms;
}

/**
 * The room's last 100 `m.room.message` events as `"<sender> <body>"`, newest first, read with the
 * admin API (`adminToken` must be a server admin's; no membership needed).
 */
export async function roomMessageLines(baseUrl: string, adminToken: string, roomId: string): Promise<string[]> {
  const answer = await matrixCall<{ chunk: { type: string; sender: string; content: { body?: string } }[] }>(baseUrl, 'GET', `/_synapse/admin/v1/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=100`, { token: adminToken });
  return answer.chunk.filter((e) => e.type === 'm.room.message').map((e) => `${e.sender} ${e.content.body ?? ''}`);
}
