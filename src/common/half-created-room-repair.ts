import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from './errors.js';
import type { Logger } from './logger.js';

/**
 * The repair of rooms that a room creation left behind half-made (red team 9, F2; the gateway's
 * side is `gateway/checks/half-created-rooms.ts`): which rooms to look at, and what to do there.
 * How the homeserver is reached is left to {@link RepairCalls}: as the user with their own token in
 * the gateway, through the admin API and a token minted for the user in the control child (when
 * the user's token is gone before the repair could use it).
 */

/** The encryption event the repair sends (what clients send for a new encrypted room). */
export const REPAIR_ENCRYPTION_CONTENT = Object.freeze({ algorithm: 'm.megolm.v1.aes-sha2' });

/** At most this many new rooms are looked at per repair (one is expected); more is logged. */
export const MAX_NEW_ROOMS_PER_REPAIR = 20;

/**
 * A room whose create event is older than the request's start by more than this is not the
 * request's (the user re-joined an old room of theirs meanwhile). The slack covers the clock of
 * a Synapse worker that differs from the gateway's.
 */
export const CREATION_CLOCK_SLACK_MS = 60_000;

/** Repairs one process (or gateway thread) runs at once; the rest wait in a queue. */
export const MAX_REPAIRS_IN_FLIGHT = 2;

/** Repairs that may wait; beyond, a repair is handed off or skipped (logged). */
export const MAX_QUEUED_REPAIRS = 256;

/** One user's room creation that did not complete: what to look at. */
export interface RepairJob {
  /** The user the request acted as. */
  readonly userId: string;
  /** The user's joined rooms before the request was forwarded. */
  readonly roomsBefore: ReadonlySet<string>;
  /** When the request was forwarded (ms since the epoch). */
  readonly startedAt: number;
  /** Waits before each pass, from the moment the job starts (ms). */
  readonly passDelaysMs: readonly number[];
}

/** Who created a room, and when. */
export interface RoomCreation {
  /** The sender of its `m.room.create` event. */
  readonly creator: string;
  /** That event's `origin_server_ts`, null when it has none. */
  readonly createdAt: number | null;
}

/**
 * Thrown by {@link RepairCalls} when they can no longer act as the user (their token was logged
 * out meanwhile): the job is handed off, if the queue has somewhere to hand it.
 */
export class CannotActAsUser extends Error {}

/** How a repair reaches the homeserver; every call is bounded in time and size. */
export interface RepairCalls<J extends RepairJob> {
  /** The user's joined rooms. */
  joinedRooms(job: J): Promise<ReadonlySet<string>>;
  /** Who created `roomId`, and when; rejects when it cannot be read. */
  creation(job: J, roomId: string): Promise<RoomCreation>;
  /** Whether `m.room.encryption` (state key `""`) has a string `algorithm`; rejects when it cannot be read. */
  isEncrypted(job: J, roomId: string): Promise<boolean>;
  /** Sends {@link REPAIR_ENCRYPTION_CONTENT} as the user; the HTTP status and errcode of the answer. */
  sendEncryption(job: J, roomId: string): Promise<{ status: number; errcode?: unknown }>;
}

/** Options of {@link RoomRepairQueue}. */
export interface RoomRepairQueueOptions<J extends RepairJob> {
  calls: RepairCalls<J>;
  logger: Logger;
  /** Where a job goes that these calls cannot finish (the user's token gone) or that finds the queue full; none: logged and dropped. */
  handOff?: (job: J) => void;
  maxInFlight?: number;
  maxQueued?: number;
}

/**
 * Runs repairs {@link MAX_REPAIRS_IN_FLIGHT} at a time, so that a burst of failed creations cannot
 * take the connections other work shares; at most {@link MAX_QUEUED_REPAIRS} wait.
 *
 * A repair looks at the user's joined rooms once per pass; in each room that is new since before
 * the request, that the user created during it and that is not encrypted, it sends
 * `m.room.encryption` as the user. That touches nothing the policy would not allow: the user may
 * only create encrypted rooms anyway.
 */
export class RoomRepairQueue<J extends RepairJob> {
  private readonly waiting: J[] = [];
  private running = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly maxInFlight: number;
  private readonly maxQueued: number;

  constructor(private readonly options: RoomRepairQueueOptions<J>) {
    this.maxInFlight = options.maxInFlight ?? MAX_REPAIRS_IN_FLIGHT;
    this.maxQueued = options.maxQueued ?? MAX_QUEUED_REPAIRS;
  }

  /** Queues a repair; never throws. */
  add(job: J): void {
    if (this.waiting.length >= this.maxQueued) {
      this.giveUp(job, 'too many room creations to check at once');
      return;
    }
    this.waiting.push(job);
    this.next();
  }

  /** Resolves when no repair runs or waits (tests, shutdown). */
  whenIdle(): Promise<void> {
    if (this.running === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private next(): void {
    while (this.running < this.maxInFlight && this.waiting.length > 0) {
      const job = this.waiting.shift()!;
      this.running++;
      void this.repair(job).finally(() => {
        this.running--;
        this.next();
        if (this.running === 0 && this.waiting.length === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const resolve of waiters) resolve();
        }
      });
    }
  }

  private giveUp(job: J, why: string): void {
    if (this.options.handOff !== undefined) {
      this.options.logger.info({ userId: job.userId, why }, 'handing the check of a room creation that did not complete to the control process');
      this.options.handOff(job);
      return;
    }
    this.options.logger.error({ userId: job.userId, why },
      'a room left unencrypted by a room creation of this user that did not complete may remain; look for it with the admin API');
  }

  /** The passes of one job, one room at a time. Never rejects. */
  private async repair(job: J): Promise<void> {
    const { calls, logger } = this.options;
    const settled = new Set<string>();
    let waited = 0;
    for (const delayMs of job.passDelaysMs) {
      // Unref'd: a pending pass must not keep a stopping process alive.
      if (delayMs > waited) await sleep(delayMs - waited, undefined, { ref: false });
      waited = delayMs;
      let now: ReadonlySet<string>;
      try {
        now = await calls.joinedRooms(job);
      } catch (err) {
        if (err instanceof CannotActAsUser) {
          this.giveUp({ ...job, passDelaysMs: job.passDelaysMs.filter((d) => d >= delayMs).map((d) => d - delayMs) }, err.message);
          return;
        }
        logger.error({ userId: job.userId, err: describeError(err) }, 'cannot look for a room left unencrypted by a room creation that did not complete');
        continue;
      }
      const fresh = [...now].filter((roomId) => !job.roomsBefore.has(roomId) && !settled.has(roomId));
      if (fresh.length > MAX_NEW_ROOMS_PER_REPAIR) {
        logger.error({ userId: job.userId, newRooms: fresh.length, lookedAt: MAX_NEW_ROOMS_PER_REPAIR },
          'more new rooms than a repair looks at after a room creation that did not complete; check this user\'s rooms with the admin API');
      }
      for (const roomId of fresh.slice(0, MAX_NEW_ROOMS_PER_REPAIR)) {
        // One room that cannot be read must not keep the others from being looked at.
        try {
          if (await this.repairRoom(job, roomId)) settled.add(roomId);
        } catch (err) {
          if (err instanceof CannotActAsUser) {
            this.giveUp({ ...job, passDelaysMs: [0] }, err.message);
            return;
          }
          logger.error({ userId: job.userId, roomId, err: describeError(err) },
            'cannot check a room that a room creation that did not complete may have left unencrypted');
        }
      }
    }
  }

  /** True when nothing is left to do in `roomId`; false when it had to stay unencrypted (logged). */
  private async repairRoom(job: J, roomId: string): Promise<boolean> {
    const { calls, logger } = this.options;
    const { creator, createdAt } = await calls.creation(job, roomId);
    // Someone else's room the user joined meanwhile, or an old one of theirs re-joined: not the request's.
    if (creator !== job.userId || createdAt === null || createdAt < job.startedAt - CREATION_CLOCK_SLACK_MS) return true;
    if (await calls.isEncrypted(job, roomId)) return true;
    const sent = await calls.sendEncryption(job, roomId);
    if (sent.status === 200) {
      logger.warn({ userId: job.userId, roomId },
        'a room creation of a user the policy forbids unencrypted rooms did not complete; the room it left behind is now encrypted');
      return true;
    }
    logger.error({ userId: job.userId, roomId, status: sent.status, errcode: sent.errcode },
      'a room creation of a user the policy forbids unencrypted rooms did not complete and its room cannot be encrypted; '
      + 'delete it with the admin API (DELETE /_synapse/admin/v2/rooms/{roomId})');
    return false;
  }
}
