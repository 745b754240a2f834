import { isMatrixError } from '../synapse/synapse-errors.js';
import type { Auth, SynapseHttp } from '../synapse/synapse-http.js';
import { ErrCode } from '../../common/matrix-errors.js';

/**
 * Where the reconcile loop keeps the users whose lock left work undone (their pending delayed
 * events, their devices) and how many follow-ups failed for each, so that a restart of Corporal
 * between the failure and the follow-up does not forget them: nothing else would bring it back,
 * since a locked user's tokens are refused and Synapse sends a locked user's delayed events when
 * they fall due.
 */
export interface UnfinishedLocksStore {
  /** What was saved last: user id → failed follow-ups; empty when nothing was. Rejects when it cannot be read. */
  load(): Promise<Map<string, number>>;
  /** Replaces what is saved with `entries` (at most {@link MAX_SAVED_UNFINISHED_LOCKS} of them are kept). */
  save(entries: ReadonlyMap<string, number>): Promise<void>;
}

/**
 * Global account-data type of the corporal user where {@link accountDataUnfinishedLocks} keeps the
 * record: `{ "users": { "<user id>": <failed follow-ups> } }`. In Corporal's namespace, whose writes
 * the gateway refuses to clients; Synapse lets only the corporal user itself write its own.
 */
export const UNFINISHED_LOCKS_KEY = 'io.corporal.unfinished_locks';

/**
 * Most users saved: 10,000 entries are about 600 KB of account data, and at most
 * {@link MAX_RECORD_BYTES} (user ids of 255 bytes, each character escaped).
 */
export const MAX_SAVED_UNFINISHED_LOCKS = 10_000;

/**
 * Largest record read back: what {@link MAX_SAVED_UNFINISHED_LOCKS} entries can take in Synapse's
 * answer, whose JSON escapes `"` and `\` (printable ASCII a historical user id may hold) to two
 * bytes: 10,000 × (2 × 255 + 8) bytes is about 5.2 MB, past the client's default 4 MiB, and a
 * record that cannot be read is never saved again (`UnfinishedLocks.save`).
 */
export const MAX_RECORD_BYTES = 8 * 1024 * 1024;

/** Largest failed-follow-up count believed from the record (the loop gives up well below it). */
const MAX_ATTEMPTS = 1_000;

/**
 * The record in the corporal user's own global account data (`GET`/`PUT
 * /_matrix/client/v3/user/{corporal}/account_data/io.corporal.unfinished_locks`, with the admin
 * session): kept by Synapse, so it outlives Corporal's processes and needs no file of its own.
 * A record that is absent reads as empty; entries that are not a user id with a count are skipped.
 */
export function accountDataUnfinishedLocks(http: SynapseHttp, admin: Auth, corporalUserId: string): UnfinishedLocksStore {
  const path = `/_matrix/client/v3/user/${encodeURIComponent(corporalUserId)}/account_data/${UNFINISHED_LOCKS_KEY}`;
  return {
    async load() {
      try {
        return readUnfinishedLocks(await http.requestObject({ call: 'client.account_data.get', method: 'GET', path, auth: admin, maxBodyBytes: MAX_RECORD_BYTES }));
      } catch (err) {
        if (isMatrixError(err, ErrCode.NotFound)) return new Map();
        throw err;
      }
    },
    async save(entries) {
      await http.request({ call: 'client.account_data.put', method: 'PUT', path, json: unfinishedLocksContent(entries), auth: admin });
    },
  };
}

/** The account-data content recording `entries` (the first {@link MAX_SAVED_UNFINISHED_LOCKS}). */
export function unfinishedLocksContent(entries: ReadonlyMap<string, number>): { users: Record<string, number> } {
  const users: Record<string, number> = {};
  let count = 0;
  for (const [userId, attempts] of entries) {
    if (count++ >= MAX_SAVED_UNFINISHED_LOCKS) break;
    users[userId] = attempts;
  }
  return { users };
}

/** The entries of a record's content; what does not read as `"@…": <count>` is skipped. */
export function readUnfinishedLocks(content: Record<string, unknown>): Map<string, number> {
  const entries = new Map<string, number>();
  const users = content['users'];
  if (typeof users !== 'object' || users === null || Array.isArray(users)) return entries;
  for (const [userId, attempts] of Object.entries(users)) {
    if (entries.size >= MAX_SAVED_UNFINISHED_LOCKS) break;
    if (!userId.startsWith('@') || typeof attempts !== 'number' || !Number.isInteger(attempts) || attempts < 0 || attempts > MAX_ATTEMPTS) continue;
    entries.set(userId, attempts);
  }
  return entries;
}
