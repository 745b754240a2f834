import type { Logger } from '../../common/logger.js';
import { canUserCreateUnencryptedRoom } from '../../policy/permissions.js';
import type { PolicySnapshot } from '../../policy/snapshot.js';
import { CannotActAsUser, RoomRepairQueue, type RepairJob } from '../../common/half-created-room-repair.js';
import { UserTokenRepairCalls, type GatewayRepairJob } from './half-created-room-repair.js';
import type { UpstreamLookupOptions } from './upstream-json.js';

/**
 * Red team 9, F2: a room creation that fails half-way leaves an unencrypted room.
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
 * So, for such a user's room creation, it reads the user's joined rooms before forwarding it; when
 * the request does not succeed, it reads them again, and in each new room the user created during
 * the request that is not encrypted, it sends `m.room.encryption` as the user
 * (common/half-created-room-repair.ts). When the token is gone by then (the user logged it out), the
 * job goes to the control process, which acts through the admin API. That makes the room what the policy allows, and touches nothing
 * the user did not just create: a room they created meanwhile by an allowed request is encrypted
 * anyway. A half-created room has no power-levels event, so its creator may send it; if that fails
 * (the user raced to add one), the room is reported at error level for the operator to delete.
 */

/** The user's credentials for the repair: the request's token, and the masqueraded user of an appservice token. */
export interface CreationCredentials {
  readonly accessToken: string;
  readonly masqueradeAs: string | null;
}

/** What the guard needs. */
export interface HalfCreatedRoomsDeps {
  /** The gateway's own calls: the internal pool, the endpoint's base path, `Matrix.TimeoutMilliseconds`, the check-read bound. */
  lookup: UpstreamLookupOptions;
  /** `Corporal.UserID` (exempt from the flags). */
  corporalUserId: string;
  logger: Logger;
  /** Gives a job the thread cannot finish to the control process (without the token). */
  handOff?: (job: RepairJob) => void;
}

/** Watches one room creation (`createRoom` or an upgrade) by a restricted user; see the module comment. */
export class CreationWatch {
  private done = false;

  /**
   * @param upstreamTimeoutMs `Matrix.TimeoutMilliseconds`: by then Synapse has finished a request
   *   the gateway stopped waiting for.
   * @param repair called at most once, with the waits before each look at the user's rooms.
   */
  constructor(
    private readonly upstreamTimeoutMs: number,
    private readonly repair: (passDelaysMs: readonly number[]) => void,
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
    this.repair(upstreamStatus === 0 ? [0, this.upstreamTimeoutMs] : [0]);
  }
}

/**
 * One per gateway thread: decides which room creations need a {@link CreationWatch}, takes the
 * joined rooms before them, and queues the repair of a failed one.
 */
export class HalfCreatedRoomGuard {
  private readonly calls: UserTokenRepairCalls;
  private readonly queue: RoomRepairQueue<GatewayRepairJob>;

  constructor(private readonly deps: HalfCreatedRoomsDeps) {
    this.calls = new UserTokenRepairCalls(deps.lookup);
    const handOff = deps.handOff;
    this.queue = new RoomRepairQueue<GatewayRepairJob>({
      calls: this.calls,
      logger: deps.logger,
      // The token stays in this thread: the control process acts through the admin API.
      handOff: handOff === undefined ? undefined : ({ userId, roomsBefore, startedAt, passDelaysMs }) => handOff({ userId, roomsBefore, startedAt, passDelaysMs }),
    });
  }

  /** Whether a room creation by `userId` needs watching: the policy forbids them unencrypted rooms. */
  applies(snapshot: PolicySnapshot, userId: string): boolean {
    return userId !== this.deps.corporalUserId && !canUserCreateUnencryptedRoom(snapshot, userId);
  }

  /**
   * Reads the user's joined rooms before their request is forwarded (counted as a check read of
   * `userId`). Resolves to the watch, or to null when Synapse does not know the token (it will
   * refuse the request itself: no room can come of it). Rejects when the rooms cannot be read (the
   * caller then refuses the request: without the list, a failure could not be repaired), and when
   * `signal` (the request's: its client left) aborts, which also frees the read's place at once.
   */
  async watch(credentials: CreationCredentials, userId: string, signal?: AbortSignal): Promise<CreationWatch | null> {
    const startedAt = Date.now();
    const read = () => this.calls.joinedRooms(credentials, signal);
    const limit = this.deps.lookup.limit;
    let roomsBefore: Set<string>;
    try {
      roomsBefore = limit === undefined ? await read() : await limit.run(userId, read);
    } catch (err) {
      if (err instanceof CannotActAsUser) return null;
      throw err;
    }
    return new CreationWatch(this.deps.lookup.timeoutMs, (passDelaysMs) => this.queue.add({
      ...credentials, userId, roomsBefore, startedAt, passDelaysMs,
    }));
  }

  /** Resolves when no repair runs or waits. */
  whenIdle(): Promise<void> {
    return this.queue.whenIdle();
  }

  /**
   * For the thread's drain, once its exchanges are closed: every repair that is not running —
   * waiting, due later, or added from now on — goes to the control process at once (with the
   * wait it had left), which stays up until the gateway has drained; the thread's connections are
   * about to close. Passes already running finish or fail on their own.
   */
  handOffPending(): void {
    void this.queue.close('hand-off', 0);
  }
}
