import { setTimeout as sleep } from 'node:timers/promises';
import { CannotActAsUser, REPAIR_ENCRYPTION_CONTENT, type RepairCalls, type RepairJob, type RoomCreation } from '../../common/half-created-room-repair.js';
import { requestJson, type JsonAnswer, type JsonRequest, type UpstreamLookupOptions } from './upstream-json.js';

/** Joined-room lists are larger than the checks' other answers: 16 MiB is about 350,000 rooms. */
export const MAX_JOINED_ROOMS_BYTES = 16 * 1024 * 1024;

/** A 429 answer is retried this many times, after Synapse's `retry_after_ms` (at most 10 s each). */
const RATE_LIMIT_RETRIES = 3;
const MAX_RETRY_AFTER_MS = 10_000;

/** A repair job of the gateway: it acts with the request's own credentials. */
export interface GatewayRepairJob extends RepairJob {
  readonly accessToken: string;
  /** `user_id` to add to every call: the masqueraded user of an appservice token, else null. */
  readonly masqueradeAs: string | null;
}

/**
 * The gateway's repair calls, as the user with the request's token (and appservice `user_id`):
 * `GET /joined_rooms`, the room's create and encryption state events, `PUT` of the encryption
 * event. Each is bounded in time and size (upstream-json.ts) and retried after a 429. A 401 (the
 * token was logged out meanwhile) is {@link CannotActAsUser}: the job goes to the control process.
 * They are not counted against the check-read bound: a user who filled their share of it must not
 * thereby stop the repair of their own room; the repair queue bounds them instead.
 */
export class UserTokenRepairCalls implements RepairCalls<GatewayRepairJob> {
  constructor(private readonly lookup: UpstreamLookupOptions) {}

  /** The user's joined rooms; rejects when they cannot be read, or when `signal` (the client it is read for left) aborts. */
  async joinedRooms(job: Pick<GatewayRepairJob, 'accessToken' | 'masqueradeAs'>, signal?: AbortSignal): Promise<Set<string>> {
    const answer = await this.call(job, { method: 'GET', path: '/_matrix/client/v3/joined_rooms', maxAnswerBytes: MAX_JOINED_ROOMS_BYTES, ...(signal === undefined ? {} : { signal }) });
    const rooms = answer.json?.['joined_rooms'];
    if (answer.status !== 200 || !Array.isArray(rooms)) throw new Error(`cannot read the joined rooms (HTTP ${answer.status})`);
    return new Set(rooms.filter((roomId): roomId is string => typeof roomId === 'string'));
  }

  /** RepairCalls: who created the room and when, from its `m.room.create` event; rejects when unreadable. */
  async creation(job: GatewayRepairJob, roomId: string): Promise<RoomCreation> {
    const create = await this.call(job, { method: 'GET', path: `${statePath(roomId, 'm.room.create')}?format=event` });
    const event = create.json;
    if (create.status !== 200 || event === null) throw new Error(`cannot read m.room.create (HTTP ${create.status})`);
    return {
      creator: typeof event['sender'] === 'string' ? event['sender'] : '',
      createdAt: typeof event['origin_server_ts'] === 'number' ? event['origin_server_ts'] : null,
    };
  }

  /** RepairCalls: whether the room has an encryption algorithm now (no event: false); rejects when unreadable. */
  async isEncrypted(job: GatewayRepairJob, roomId: string): Promise<boolean> {
    const encryption = await this.call(job, { method: 'GET', path: statePath(roomId, 'm.room.encryption') });
    if (encryption.status === 404) return false;
    if (encryption.status !== 200) throw new Error(`cannot read m.room.encryption (HTTP ${encryption.status})`);
    return typeof encryption.json?.['algorithm'] === 'string';
  }

  /** RepairCalls: sends Corporal's `m.room.encryption` content as the user; Synapse's status and errcode. */
  async sendEncryption(job: GatewayRepairJob, roomId: string): Promise<{ status: number; errcode?: unknown }> {
    const sent = await this.call(job, { method: 'PUT', path: statePath(roomId, 'm.room.encryption'), body: REPAIR_ENCRYPTION_CONTENT });
    return { status: sent.status, errcode: sent.json?.['errcode'] };
  }

  private async call(job: Pick<GatewayRepairJob, 'accessToken' | 'masqueradeAs'>, request: Omit<JsonRequest, 'headers'>): Promise<JsonAnswer> {
    const masquerade = job.masqueradeAs === null ? '' : `${request.path.includes('?') ? '&' : '?'}user_id=${encodeURIComponent(job.masqueradeAs)}`;
    const full: JsonRequest = { ...request, path: request.path + masquerade, headers: { authorization: `Bearer ${job.accessToken}` } };
    for (let attempt = 0; ; attempt++) {
      const answer = await requestJson(this.lookup, full);
      if (answer.status === 401) throw new CannotActAsUser('the access token is no longer valid (logged out)');
      const retryAfter = answer.json?.['retry_after_ms'];
      if (answer.status !== 429 || attempt >= RATE_LIMIT_RETRIES) return answer;
      await sleep(typeof retryAfter === 'number' && retryAfter > 0 ? Math.min(retryAfter, MAX_RETRY_AFTER_MS) : 1_000, undefined, { ref: false, ...(request.signal === undefined ? {} : { signal: request.signal }) });
    }
  }
}

function statePath(roomId: string, type: string): string {
  return `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/${type}`;
}
