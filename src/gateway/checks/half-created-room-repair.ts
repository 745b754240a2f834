import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { requestJson, type JsonAnswer, type JsonRequest, type UpstreamLookupOptions } from './upstream-json.js';

/** The encryption event the repair sends (what clients send for a new encrypted room). */
export const REPAIR_ENCRYPTION_CONTENT = Object.freeze({ algorithm: 'm.megolm.v1.aes-sha2' });

/** Joined-room lists are larger than the checks' other answers: 16 MiB is about 350,000 rooms. */
export const MAX_JOINED_ROOMS_BYTES = 16 * 1024 * 1024;

/** At most this many new rooms are looked at per repair (one is expected); more is logged. */
export const MAX_NEW_ROOMS_PER_REPAIR = 20;

/**
 * A room whose create event is older than the request's start by more than this is not the
 * request's (the user re-joined an old room of theirs meanwhile). The slack covers the clock of
 * a Synapse worker that differs from the gateway's.
 */
export const CREATION_CLOCK_SLACK_MS = 60_000;

/** Repairs one gateway thread runs at once; the rest wait in a queue. */
export const MAX_REPAIRS_IN_FLIGHT = 2;

/** Repairs that may wait; beyond, a repair is skipped and logged at error level. */
export const MAX_QUEUED_REPAIRS = 256;

/** A 429 answer is retried this many times, after Synapse's `retry_after_ms` (at most 10 s each). */
const RATE_LIMIT_RETRIES = 3;
const MAX_RETRY_AFTER_MS = 10_000;

/** One user's room creation that did not complete: what to look at. */
export interface RepairJob {
  readonly accessToken: string;
  /** The user the request acted as. */
  readonly userId: string;
  /** `user_id` to add to every call: the masqueraded user of an appservice token, else null. */
  readonly masqueradeAs: string | null;
  /** The user's joined rooms before the request was forwarded. */
  readonly roomsBefore: ReadonlySet<string>;
  /** When the request was forwarded (ms since the epoch). */
  readonly startedAt: number;
  /** Waits before each pass, from the end of the request (ms). */
  readonly passDelaysMs: readonly number[];
}

/**
 * The calls of a repair, as the user: their joined rooms, and in a room its create event, its
 * encryption, and sending `m.room.encryption`. Each is bounded in time and size (upstream-json.ts)
 * and retried after a 429. They are not counted against the check-read bound: a user who filled
 * their share of it must not thereby stop the repair of their own room; {@link RoomRepairQueue}
 * bounds them instead.
 */
export class RepairCalls {
  constructor(private readonly lookup: UpstreamLookupOptions) {}

  /**
   * The user's joined rooms; null when Synapse does not know the token (401: it was logged out, or
   * never valid); rejects when they cannot be read otherwise.
   */
  async joinedRooms(job: Pick<RepairJob, 'accessToken' | 'masqueradeAs'>): Promise<Set<string> | null> {
    const answer = await this.call(job, { method: 'GET', path: '/_matrix/client/v3/joined_rooms', maxAnswerBytes: MAX_JOINED_ROOMS_BYTES });
    if (answer.status === 401) return null;
    const rooms = answer.json?.['joined_rooms'];
    if (answer.status !== 200 || !Array.isArray(rooms)) throw new Error(`cannot read the joined rooms (HTTP ${answer.status})`);
    return new Set(rooms.filter((roomId): roomId is string => typeof roomId === 'string'));
  }

  /** `GET …/state/{type}` (`format=event` for the whole event) or `PUT` with `body`, as the user. */
  state(job: RepairJob, roomId: string, type: string, init: { format?: 'event'; body?: unknown }): Promise<JsonAnswer> {
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/${type}${init.format === 'event' ? '?format=event' : ''}`;
    return this.call(job, init.body === undefined ? { method: 'GET', path } : { method: 'PUT', path, body: init.body });
  }

  private async call(job: Pick<RepairJob, 'accessToken' | 'masqueradeAs'>, request: Omit<JsonRequest, 'headers'>): Promise<JsonAnswer> {
    const masquerade = job.masqueradeAs === null ? '' : `${request.path.includes('?') ? '&' : '?'}user_id=${encodeURIComponent(job.masqueradeAs)}`;
    const full: JsonRequest = { ...request, path: request.path + masquerade, headers: { authorization: `Bearer ${job.accessToken}` } };
    for (let attempt = 0; ; attempt++) {
      const answer = await requestJson(this.lookup, full);
      const retryAfter = answer.json?.['retry_after_ms'];
      if (answer.status !== 429 || attempt >= RATE_LIMIT_RETRIES) return answer;
      await sleep(typeof retryAfter === 'number' && retryAfter > 0 ? Math.min(retryAfter, MAX_RETRY_AFTER_MS) : 1_000, undefined, { ref: false });
    }
  }
}

/**
 * Runs repairs of half-created rooms (half-created-rooms.ts), {@link MAX_REPAIRS_IN_FLIGHT} at a
 * time, so that a burst of failed creations cannot take the internal pool that token look-ups
 * share; at most {@link MAX_QUEUED_REPAIRS} wait, and one beyond is skipped with an error log.
 */
export class RoomRepairQueue {
  private readonly waiting: RepairJob[] = [];
  private running = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly calls: RepairCalls,
    private readonly logger: Logger,
    private readonly maxInFlight = MAX_REPAIRS_IN_FLIGHT,
    private readonly maxQueued = MAX_QUEUED_REPAIRS,
  ) {}

  /** Queues a repair; never throws. */
  add(job: RepairJob): void {
    if (this.waiting.length >= this.maxQueued) {
      this.logger.error({ userId: job.userId },
        'too many room creations to check at once: a room left unencrypted by a failed creation of this user may remain; look for it with the admin API');
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

  /** The passes of one job; each looks at the rooms that are new since the request, one at a time. Never rejects. */
  private async repair(job: RepairJob): Promise<void> {
    const settled = new Set<string>();
    let waited = 0;
    for (const delayMs of job.passDelaysMs) {
      if (delayMs > waited) await sleep(delayMs - waited, undefined, { ref: false });
      waited = delayMs;
      let now: Set<string> | null;
      try {
        now = await this.calls.joinedRooms(job);
        if (now === null) throw new Error('the access token is no longer valid (logged out)');
      } catch (err) {
        this.logger.error({ userId: job.userId, err: describeError(err) },
          'cannot look for a room left unencrypted by a room creation that did not complete');
        continue;
      }
      const fresh = [...now].filter((roomId) => !job.roomsBefore.has(roomId) && !settled.has(roomId));
      if (fresh.length > MAX_NEW_ROOMS_PER_REPAIR) {
        this.logger.error({ userId: job.userId, newRooms: fresh.length, lookedAt: MAX_NEW_ROOMS_PER_REPAIR },
          'more new rooms than a repair looks at after a room creation that did not complete; check this user\'s rooms with the admin API');
      }
      for (const roomId of fresh.slice(0, MAX_NEW_ROOMS_PER_REPAIR)) {
        // One room that cannot be read must not keep the others from being looked at.
        try {
          if (await this.repairRoom(job, roomId)) settled.add(roomId);
        } catch (err) {
          this.logger.error({ userId: job.userId, roomId, err: describeError(err) },
            'cannot check a room that a room creation that did not complete may have left unencrypted');
        }
      }
    }
  }

  /**
   * Encrypts `roomId` if this user created it during the request and it is not encrypted. True
   * when nothing is left to do there; false when it had to stay unencrypted (logged).
   */
  private async repairRoom(job: RepairJob, roomId: string): Promise<boolean> {
    const create = await this.calls.state(job, roomId, 'm.room.create', { format: 'event' });
    const event = create.json;
    if (create.status !== 200 || event === null) throw new Error(`cannot read m.room.create (HTTP ${create.status})`);
    const createdAt = event['origin_server_ts'];
    // Someone else's room the user joined meanwhile, or an old one of theirs re-joined: not the request's.
    if (event['sender'] !== job.userId || typeof createdAt !== 'number' || createdAt < job.startedAt - CREATION_CLOCK_SLACK_MS) return true;
    const encryption = await this.calls.state(job, roomId, 'm.room.encryption', {});
    if (encryption.status === 200 && typeof encryption.json?.['algorithm'] === 'string') return true;
    const sent = await this.calls.state(job, roomId, 'm.room.encryption', { body: REPAIR_ENCRYPTION_CONTENT });
    if (sent.status === 200) {
      this.logger.warn({ userId: job.userId, roomId },
        'a room creation of a user the policy forbids unencrypted rooms did not complete; the room it left behind is now encrypted');
      return true;
    }
    this.logger.error({ userId: job.userId, roomId, status: sent.status, errcode: sent.json?.['errcode'] },
      'a room creation of a user the policy forbids unencrypted rooms did not complete and its room cannot be encrypted; '
      + 'delete it with the admin API (DELETE /_synapse/admin/v2/rooms/{roomId})');
    return false;
  }
}
