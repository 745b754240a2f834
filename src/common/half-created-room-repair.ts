import { describeError } from './errors.js';
import type { Logger } from './logger.js';
import { CLIENT_TRIGGERED_LOG_INTERVAL_MS, LogThrottle } from './log-throttle.js';
import { settleWithin } from './deadline.js';

/**
 * The repair of rooms that a room creation left behind half-made (red team 9, F2; the gateway's
 * side is `gateway/checks/half-created-rooms.ts`): which rooms to look at, and what to do there.
 * How the homeserver is reached is left to {@link RepairCalls}: as the user with their own token in
 * the gateway, through the admin API and a token minted for the user in the control child (when
 * the user's token is gone before the repair could use it).
 */

/** The encryption event the repair sends (what clients send for a new encrypted room). */
export const REPAIR_ENCRYPTION_CONTENT = Object.freeze({ algorithm: 'm.megolm.v1.aes-sha2' });

/**
 * At most this many new rooms are looked at per pass (one is expected; Synapse's default join rate
 * limit lets a user join about 10 rooms at once); the ids of the next ones are logged.
 */
export const MAX_NEW_ROOMS_PER_REPAIR = 100;

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

/** What {@link RoomRepairQueue.close} does with the passes waiting for a place. */
export type WaitingAtClose = 'run' | 'hand-off';

/** At most this many user ids are named in the one log line of the repairs a shutdown drops. */
const MAX_DROPPED_USERS_LOGGED = 100;

/** One look at a job's rooms that is due. */
interface Pass<J extends RepairJob> {
  readonly job: J;
  /** Rooms already dealt with by an earlier pass of the job. */
  readonly settled: Set<string>;
  /** This pass's delay and the later ones, from the job's start (ms). */
  readonly delaysMs: readonly number[];
}

/**
 * Runs repairs {@link MAX_REPAIRS_IN_FLIGHT} passes at a time, so that a burst of failed creations
 * cannot take the connections other work shares; at most {@link MAX_QUEUED_REPAIRS} wait. A job's
 * later pass waits on a timer, holding no place (a client that aborts its requests must not stall
 * everyone's repairs for `Matrix.TimeoutMilliseconds`: red team 9, second verification).
 *
 * A pass looks at the user's joined rooms; in each room that is new since before the request, that
 * the user created during it and that is not encrypted, it sends `m.room.encryption` as the user.
 * That touches nothing the policy would not allow: the user may only create encrypted rooms anyway.
 */
export class RoomRepairQueue<J extends RepairJob> {
  private readonly waiting: Array<Pass<J>> = [];
  /** The waiting pass of each user (red team 17b, G1: one user's jobs take one place, not one per request). */
  private readonly waitingByUser = new Map<string, Pass<J>>();
  private running = 0;
  /** The passes due later, each with its timer and when it is due (epoch ms). */
  private readonly scheduled = new Map<NodeJS.Timeout, { pass: Pass<J>; dueAt: number }>();
  /** Set by {@link close}: no pass is scheduled or queued any more; each is handed off (or dropped) at once. */
  private closed = false;
  /** Users whose repairs a shutdown dropped (no hand-off), for the one line {@link close} logs. */
  private readonly droppedAtClose = new Set<string>();
  private idleWaiters: Array<() => void> = [];
  private readonly maxInFlight: number;
  private readonly maxQueued: number;
  private readonly giveUpLog = new LogThrottle(CLIENT_TRIGGERED_LOG_INTERVAL_MS);
  /**
   * A pass that cannot read or repair is an error, but a flood of failed creations makes one per
   * pass (1,539 lines in 20 s with the control process' session gone: red team 17b, G5): throttled.
   */
  private readonly passErrorLog = new LogThrottle(CLIENT_TRIGGERED_LOG_INTERVAL_MS);

  constructor(private readonly options: RoomRepairQueueOptions<J>) {
    this.maxInFlight = options.maxInFlight ?? MAX_REPAIRS_IN_FLIGHT;
    this.maxQueued = options.maxQueued ?? MAX_QUEUED_REPAIRS;
  }

  /** Queues a repair (after {@link close}: hands it off at once); never throws. */
  add(job: J): void {
    this.schedule({ job, settled: new Set(), delaysMs: job.passDelaysMs }, 0);
  }

  /** Resolves when no pass runs, waits or is due later (tests, shutdown). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * For a shutdown: a pass that would run after this process is gone must go where it can still
   * run — the gateway thread's to the control process (which outlives the gateway's drain), the
   * control process's nowhere, so it is at least named in the log for the operator to check by
   * hand. So: every pass due later, and every pass scheduled or added from now on, is handed off
   * at once with the wait it had left (or dropped); so are the passes waiting for a place when
   * `waiting` is `'hand-off'` (the thread's connections are closing), while with `'run'` they still
   * run. Resolves when no pass runs or waits, or after `withinMs`: whatever still waits then is
   * dropped too. The dropped repairs are logged in one line. Idempotent in effect; never rejects.
   */
  async close(waiting: WaitingAtClose, withinMs: number): Promise<void> {
    this.closed = true;
    const now = Date.now();
    for (const [timer, { pass, dueAt }] of this.scheduled) {
      clearTimeout(timer);
      this.giveUp(pass.job, pass.delaysMs, 'shutting down', Math.max(0, dueAt - now));
    }
    this.scheduled.clear();
    if (waiting === 'hand-off') this.giveUpWaiting();
    this.settleIfIdle();
    const idle = await settleWithin(this.whenIdle().then(() => true), withinMs, () => false, { unref: true });
    if (!idle) this.giveUpWaiting();
    if (this.droppedAtClose.size > 0) {
      const users = [...this.droppedAtClose];
      this.droppedAtClose.clear();
      this.options.logger.error(
        { users: users.slice(0, MAX_DROPPED_USERS_LOGGED), count: users.length, stillRunning: this.running },
        'shutting down with checks of room creations that did not complete still to do; '
        + 'rooms these users created just before may be unencrypted: look for them with the admin API',
      );
    }
  }

  private giveUpWaiting(): void {
    const waiting = this.waiting.splice(0);
    this.waitingByUser.clear();
    for (const pass of waiting) this.giveUp(pass.job, pass.delaysMs, 'shutting down');
    this.settleIfIdle();
  }

  private isIdle(): boolean {
    return this.running === 0 && this.waiting.length === 0 && this.scheduled.size === 0;
  }

  /** Queues `pass` when it is due, `elapsedMs` after its job started. */
  private schedule(pass: Pass<J>, elapsedMs: number): void {
    const [delayMs] = pass.delaysMs;
    if (delayMs === undefined) return;
    if (this.closed) {
      this.giveUp(pass.job, pass.delaysMs, 'shutting down', Math.max(0, delayMs - elapsedMs));
      return;
    }
    if (delayMs <= elapsedMs) {
      this.enqueue(pass);
      return;
    }
    const waitMs = delayMs - elapsedMs;
    // Unref'd: a pass due later must not keep a stopping process alive.
    const timer = setTimeout(() => {
      this.scheduled.delete(timer);
      this.enqueue(pass);
      this.settleIfIdle();
    }, waitMs).unref();
    this.scheduled.set(timer, { pass, dueAt: Date.now() + waitMs });
  }

  private enqueue(pass: Pass<J>): void {
    const queued = this.waitingByUser.get(pass.job.userId);
    if (queued !== undefined) {
      this.merge(queued, pass);
      return;
    }
    if (this.waiting.length >= this.maxQueued) {
      this.giveUp(pass.job, pass.delaysMs, 'too many room creations to check at once');
      return;
    }
    this.waiting.push(pass);
    this.waitingByUser.set(pass.job.userId, pass);
    this.next();
  }

  /**
   * Folds `pass` into the same user's waiting pass `queued` (red team 17b, G1: a flood of failed
   * creations by one user otherwise filled the queue, and other users' repairs were handed off and
   * dropped). The merged pass looks at every room new since the earlier of the two requests
   * (`roomsBefore`: the intersection; `startedAt`: the earlier), so it misses nothing either would
   * have repaired; `pass`'s later passes are still scheduled, and merge again when due.
   */
  private merge(queued: Pass<J>, pass: Pass<J>): void {
    const index = this.waiting.indexOf(queued);
    const roomsBefore = new Set([...queued.job.roomsBefore].filter((roomId) => pass.job.roomsBefore.has(roomId)));
    const settled = new Set([...queued.settled].filter((roomId) => pass.settled.has(roomId)));
    const job: J = { ...queued.job, roomsBefore, startedAt: Math.min(queued.job.startedAt, pass.job.startedAt) };
    const merged: Pass<J> = { job, settled, delaysMs: queued.delaysMs };
    this.waiting[index] = merged;
    this.waitingByUser.set(job.userId, merged);
    const [delayMs, ...later] = pass.delaysMs;
    if (later.length > 0) this.schedule({ job: pass.job, settled: pass.settled, delaysMs: later }, delayMs ?? 0);
  }

  private next(): void {
    while (this.running < this.maxInFlight && this.waiting.length > 0) {
      const pass = this.waiting.shift()!;
      if (this.waitingByUser.get(pass.job.userId) === pass) this.waitingByUser.delete(pass.job.userId);
      this.running++;
      void this.runPass(pass).finally(() => {
        this.running--;
        this.next();
        this.settleIfIdle();
      });
    }
  }

  private settleIfIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * Hands the job's remaining passes (from `delaysMs[0]` on, the first after `waitMs`) off, or
   * logs that it is dropped (at a shutdown: in {@link close}'s one line).
   */
  private giveUp(job: J, delaysMs: readonly number[], why: string, waitMs = 0): void {
    const first = delaysMs[0] ?? 0;
    const remaining = { ...job, passDelaysMs: delaysMs.map((d) => d - first + waitMs) };
    if (this.options.handOff !== undefined) {
      this.options.logger.info({ userId: job.userId, why }, 'handing the check of a room creation that did not complete to the control process');
      this.options.handOff(remaining);
      return;
    }
    if (this.closed) {
      this.droppedAtClose.add(job.userId);
      return;
    }
    // A burst of these is the user's doing: throttled.
    const suppressed = this.giveUpLog.admit();
    if (suppressed !== null) {
      this.options.logger.error({ userId: job.userId, why, suppressed },
        'a room left unencrypted by a room creation of this user that did not complete may remain; look for it with the admin API');
    }
  }

  /** An error of a pass, logged at most once per interval with the count held back. */
  private passError(fields: Record<string, unknown>, msg: string): void {
    const suppressed = this.passErrorLog.admit();
    if (suppressed !== null) this.options.logger.error({ ...fields, suppressed }, msg);
  }

  /** One pass: the rooms new since the request, one at a time; then the next pass is scheduled. Never rejects. */
  private async runPass(pass: Pass<J>): Promise<void> {
    const { job, settled, delaysMs } = pass;
    const { calls, logger } = this.options;
    const next = (): void => this.schedule({ job, settled, delaysMs: delaysMs.slice(1) }, delaysMs[0] ?? 0);
    let now: ReadonlySet<string>;
    try {
      now = await calls.joinedRooms(job);
    } catch (err) {
      if (err instanceof CannotActAsUser) {
        this.giveUp(job, delaysMs, err.message);
        return;
      }
      this.passError({ userId: job.userId, err: describeError(err) }, 'cannot look for a room left unencrypted by a room creation that did not complete');
      next();
      return;
    }
    const fresh = [...now].filter((roomId) => !job.roomsBefore.has(roomId) && !settled.has(roomId));
    if (fresh.length > MAX_NEW_ROOMS_PER_REPAIR) {
      logger.error({ userId: job.userId, newRooms: fresh.length, skipped: fresh.slice(MAX_NEW_ROOMS_PER_REPAIR, MAX_NEW_ROOMS_PER_REPAIR * 2) },
        'more new rooms than a repair looks at after a room creation that did not complete; check the skipped rooms with the admin API');
    }
    for (const roomId of fresh.slice(0, MAX_NEW_ROOMS_PER_REPAIR)) {
      // One room that cannot be read must not keep the others from being looked at.
      try {
        if (await this.repairRoom(job, roomId)) settled.add(roomId);
      } catch (err) {
        if (err instanceof CannotActAsUser) {
          this.giveUp(job, delaysMs, err.message);
          return;
        }
        this.passError({ userId: job.userId, roomId, err: describeError(err) },
          'cannot check a room that a room creation that did not complete may have left unencrypted');
      }
    }
    next();
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
