import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { canUserCreateUnencryptedRoom } from '../../policy/permissions.js';
import type { PolicySnapshot } from '../../policy/snapshot.js';
import { requestJson, type UpstreamLookupOptions } from './upstream-json.js';

/**
 * Red team 9, F2: a `createRoom` that fails half-way leaves an unencrypted room.
 *
 * Synapse persists a new room's `m.room.create` and the creator's join first, then everything else
 * (power levels, `initial_state` with the encryption event, name, topic) in one batch, and removes
 * nothing when that batch fails. A user under `forbidUnencryptedRoomCreation` passes the check with
 * a valid encryption entry and can make the batch fail on purpose (a power-levels override that
 * puts `m.room.encryption` above them, a server ACL that denies the local server, …). The client
 * gets an error, the room stays: no encryption, no power levels, usable. A room upgrade builds its
 * replacement room the same way, so it is watched too.
 *
 * The gateway cannot see the batch fail before it happens, and the error does not name the room.
 * So, for such a user's `createRoom`, it reads the user's joined rooms before forwarding it; when
 * the request does not succeed, it reads them again, and in each new room the user created during
 * the request that is not encrypted, it sends `m.room.encryption` as the user. That makes the room
 * what the policy allows, and touches nothing the user did not just create: a room they created
 * meanwhile by an allowed request is encrypted anyway. A half-created room has no power-levels
 * event, so its creator may send it; if that fails (the user raced to add one), the room is
 * reported at error level for the operator to delete.
 */

/** The encryption event the repair sends (what clients send for a new encrypted room). */
export const REPAIR_ENCRYPTION_CONTENT = Object.freeze({ algorithm: 'm.megolm.v1.aes-sha2' });

/** Joined-room lists are larger than the checks' other answers: 4 MiB is about 90,000 rooms. */
const MAX_JOINED_ROOMS_BYTES = 4 * 1024 * 1024;

/** At most this many new rooms are looked at per failed request (one is expected). */
const MAX_NEW_ROOMS_PER_REPAIR = 20;

/** A room created before the request started (by more than this) is not the request's. */
const CREATION_CLOCK_SLACK_MS = 60_000;

/** What the guard needs. */
export interface HalfCreatedRoomsDeps {
  /** The gateway's own calls: the internal pool, the endpoint's base path, `Matrix.TimeoutMilliseconds`, the check-read bound. */
  lookup: UpstreamLookupOptions;
  /** `Corporal.UserID` (exempt from the flags). */
  corporalUserId: string;
  logger: Logger;
}

/** Watches one `createRoom` by a restricted user; see the module comment. */
export class CreationWatch {
  private done = false;

  /** @internal built by {@link HalfCreatedRoomGuard.watch}. */
  constructor(
    private readonly guard: HalfCreatedRoomGuard,
    private readonly accessToken: string,
    private readonly userId: string,
    private readonly roomsBefore: ReadonlySet<string>,
    private readonly startedAt: number,
  ) {}

  /**
   * The exchange is over; `upstreamStatus` is the homeserver's answer, 0 when there was none. A
   * 2xx: the room was created whole, nothing to do. Otherwise the rooms are looked at once now;
   * and when the homeserver never answered (the client left, a timeout), once more after
   * `Matrix.TimeoutMilliseconds`, as it may still be creating the room.
   */
  exchangeSettled(upstreamStatus: number): void {
    if (this.done) return;
    this.done = true;
    if (upstreamStatus >= 200 && upstreamStatus < 300) return;
    const passes = upstreamStatus === 0 ? [0, this.guard.lookup.timeoutMs] : [0];
    void this.guard.repairAfter(passes, this.accessToken, this.userId, this.roomsBefore, this.startedAt);
  }
}

/**
 * One per gateway thread: decides which `createRoom` requests need a {@link CreationWatch} and
 * repairs what a failed one left behind.
 */
export class HalfCreatedRoomGuard {
  readonly lookup: UpstreamLookupOptions;

  constructor(private readonly deps: HalfCreatedRoomsDeps) {
    this.lookup = deps.lookup;
  }

  /** Whether a `room.create` by `userId` needs watching: the policy forbids them unencrypted rooms. */
  applies(snapshot: PolicySnapshot, userId: string): boolean {
    return userId !== this.deps.corporalUserId && !canUserCreateUnencryptedRoom(snapshot, userId);
  }

  /**
   * Reads the user's joined rooms before their request is forwarded. Rejects when they cannot be
   * read: the caller then refuses the request (without the list, a failure could not be repaired).
   */
  async watch(accessToken: string, userId: string): Promise<CreationWatch> {
    const startedAt = Date.now();
    const rooms = await this.joinedRooms(accessToken, userId, true);
    return new CreationWatch(this, accessToken, userId, rooms, startedAt);
  }

  /** @internal the passes of {@link CreationWatch.exchangeSettled}; never rejects. */
  async repairAfter(delaysMs: readonly number[], accessToken: string, userId: string, before: ReadonlySet<string>, startedAt: number): Promise<void> {
    const repaired = new Set<string>();
    let waited = 0;
    for (const delayMs of delaysMs) {
      if (delayMs > waited) await sleep(delayMs - waited, undefined, { ref: false });
      waited = delayMs;
      try {
        const now = await this.joinedRooms(accessToken, userId, false);
        const fresh = [...now].filter((roomId) => !before.has(roomId) && !repaired.has(roomId)).slice(0, MAX_NEW_ROOMS_PER_REPAIR);
        for (const roomId of fresh) {
          if (await this.repairRoom(accessToken, userId, roomId, startedAt)) repaired.add(roomId);
        }
      } catch (err) {
        this.deps.logger.error({ userId, err: describeError(err) },
          'cannot look for a room left unencrypted by a failed createRoom of a user the policy forbids unencrypted rooms');
      }
    }
  }

  /** Encrypts `roomId` if this user created it during the request and it is not encrypted; true when nothing is left to do. */
  private async repairRoom(accessToken: string, userId: string, roomId: string, startedAt: number): Promise<boolean> {
    const headers = { authorization: `Bearer ${accessToken}` };
    const room = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state`;
    const create = await requestJson(this.lookup, { method: 'GET', path: `${room}/m.room.create?format=event`, headers });
    const event = create.json;
    if (create.status !== 200 || event === null) throw new Error(`cannot read m.room.create of ${roomId} (HTTP ${create.status})`);
    const createdAt = event['origin_server_ts'];
    // Someone else's room the user joined meanwhile, or an old one of theirs re-joined: not ours.
    if (event['sender'] !== userId || typeof createdAt !== 'number' || createdAt < startedAt - CREATION_CLOCK_SLACK_MS) return true;
    const encryption = await requestJson(this.lookup, { method: 'GET', path: `${room}/m.room.encryption`, headers });
    if (encryption.status === 200 && typeof encryption.json?.['algorithm'] === 'string') return true;
    const sent = await requestJson(this.lookup, { method: 'PUT', path: `${room}/m.room.encryption`, headers, body: REPAIR_ENCRYPTION_CONTENT });
    if (sent.status === 200) {
      this.deps.logger.warn({ userId, roomId },
        'a createRoom of a user the policy forbids unencrypted rooms failed half-way; the room it left behind is now encrypted');
      return true;
    }
    this.deps.logger.error({ userId, roomId, status: sent.status, errcode: sent.json?.['errcode'] },
      'a createRoom of a user the policy forbids unencrypted rooms failed half-way and its room cannot be encrypted; '
      + 'delete it with the admin API (DELETE /_synapse/admin/v2/rooms/{roomId})');
    return false;
  }

  /** `GET /joined_rooms` as the user; `bounded`: counted against the thread's check-read bound. */
  private async joinedRooms(accessToken: string, userId: string, bounded: boolean): Promise<Set<string>> {
    const request = { method: 'GET' as const, path: '/_matrix/client/v3/joined_rooms', headers: { authorization: `Bearer ${accessToken}` }, maxAnswerBytes: MAX_JOINED_ROOMS_BYTES };
    const answer = bounded && this.lookup.limit !== undefined
      ? await this.lookup.limit.run(userId, () => requestJson(this.lookup, request))
      : await requestJson(this.lookup, request);
    const rooms = answer.json?.['joined_rooms'];
    if (answer.status !== 200 || !Array.isArray(rooms)) throw new Error(`cannot read the joined rooms (HTTP ${answer.status})`);
    return new Set(rooms.filter((roomId): roomId is string => typeof roomId === 'string'));
  }
}
