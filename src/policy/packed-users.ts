import {
  AUTH_MASK, AUTH_SHIFT, BIT_ACTIVE, BIT_POWER_LEVELS_MANAGED, FORBID_ENCRYPTED_SHIFT, FORBID_ROOM_SHIFT,
  FORBID_UNENCRYPTED_SHIFT, U_AVATAR, U_BITS, U_CREDENTIAL, U_DISPLAY_NAME, U_FIRST_ROOM, U_ID, U_ROOM_COUNT,
  USER_WORDS, decodeOverride, fnv1a,
} from './packed-layout.js';
import type { AuthType, SnapshotUser } from './snapshot.js';

/** Materialised users kept per thread; when full, the memo starts over (cheap, bounded). */
const MEMO_LIMIT = 16_384;

/** The typed views over one encoded snapshot that the readers share. */
export interface PackedViews {
  bytes: Buffer;
  /** The strings section as UTF-16 code units. */
  strings: Uint16Array;
  users: Uint32Array;
  rooms: Uint32Array;
  levels: Float64Array;
  exact: Uint32Array;
  lower: Uint32Array;
  stringsOffset: number;
  roomIds: readonly string[];
  authTypes: readonly AuthType[];
  userCount: number;
}

/**
 * `ReadonlyMap<MXID, SnapshotUser>` over the packed bytes (which may be a SharedArrayBuffer that
 * every gateway thread reads): look-ups go through the open-addressing index and materialise only
 * the user asked for, so a thread holds no per-user objects until users show up. Thread-local:
 * never send one across threads (send the bytes).
 */
export class PackedUserMap implements ReadonlyMap<string, SnapshotUser> {
  private memo = new Map<number, SnapshotUser>();

  constructor(private readonly views: PackedViews) {}

  get size(): number {
    return this.views.userCount;
  }

  /** The user with exactly this id, materialised (memoised); undefined when the policy has none. */
  get(id: string): SnapshotUser | undefined {
    const index = this.indexOf(id);
    return index < 0 ? undefined : this.userAt(index);
  }

  has(id: string): boolean {
    return this.indexOf(id) >= 0;
  }

  /** Position of the user with exactly this id, or -1. */
  indexOf(id: string): number {
    const { exact } = this.views;
    const mask = exact.length - 1;
    for (let slot = fnv1a(id) & mask; ; slot = (slot + 1) & mask) {
      const entry = exact[slot] as number;
      if (entry === 0) return -1;
      if (this.idEquals(entry - 1, id)) return entry - 1;
    }
  }

  /** The user at a position (0 ≤ index < size), materialised (memoised). */
  userAt(index: number): SnapshotUser {
    const memoised = this.memo.get(index);
    if (memoised !== undefined) return memoised;
    const user = this.materialise(index);
    if (this.memo.size >= MEMO_LIMIT) this.memo = new Map();
    this.memo.set(index, user);
    return user;
  }

  /**
   * Calls `visit` with the id and level of every active user whose power levels are managed and
   * whose room list holds `roomId`, reading the packed arrays directly: on a 100,000-user policy
   * this builds no user object (only the members' ids), so a gateway thread does not stall.
   */
  forEachEnforcedLevel(roomId: string, visit: (userId: string, level: number) => void): void {
    const { users, rooms, levels, roomIds, userCount } = this.views;
    const room = roomIds.indexOf(roomId);
    if (room < 0) return;
    const wanted = BIT_ACTIVE | BIT_POWER_LEVELS_MANAGED;
    for (let index = 0; index < userCount; index += 1) {
      const base = index * USER_WORDS;
      if (((users[base + U_BITS] as number) & wanted) !== wanted) continue;
      const first = users[base + U_FIRST_ROOM] as number;
      const end = first + (users[base + U_ROOM_COUNT] as number);
      for (let i = first; i < end; i += 1) {
        if (rooms[i] === room) {
          visit(this.stringAt(index, U_ID), levels[i] as number);
          break;
        }
      }
    }
  }

  /**
   * How many users pass `test`, given each user's `active` and `powerLevelsManaged` flags, reading
   * the packed flag words directly: one pass, no user object built (a gateway thread must not
   * materialise a 100,000-user policy to count it).
   */
  countByFlags(test: (active: boolean, powerLevelsManaged: boolean) => boolean): number {
    const { users, userCount } = this.views;
    let count = 0;
    for (let index = 0; index < userCount; index += 1) {
      const bits = users[index * USER_WORDS + U_BITS] as number;
      if (test((bits & BIT_ACTIVE) !== 0, (bits & BIT_POWER_LEVELS_MANAGED) !== 0)) count += 1;
    }
    return count;
  }

  /** Builds the user at `index` from the packed arrays (not memoised). */
  private materialise(index: number): SnapshotUser {
    const { users, rooms, levels, roomIds, authTypes } = this.views;
    const base = index * USER_WORDS;
    const bits = users[base + U_BITS] as number;
    const first = users[base + U_FIRST_ROOM] as number;
    const count = users[base + U_ROOM_COUNT] as number;
    const joinedRooms = new Map<string, number>();
    for (let i = first; i < first + count; i += 1) joinedRooms.set(roomIds[rooms[i] as number] as string, levels[i] as number);
    return {
      id: this.stringAt(index, U_ID),
      active: (bits & BIT_ACTIVE) !== 0,
      authType: authTypes[(bits >>> AUTH_SHIFT) & AUTH_MASK] as AuthType,
      authCredential: this.stringAt(index, U_CREDENTIAL),
      displayName: this.stringAt(index, U_DISPLAY_NAME),
      avatarUri: this.stringAt(index, U_AVATAR),
      joinedRooms,
      powerLevelsManaged: (bits & BIT_POWER_LEVELS_MANAGED) !== 0,
      forbidRoomCreation: decodeOverride(bits, FORBID_ROOM_SHIFT),
      forbidEncryptedRoomCreation: decodeOverride(bits, FORBID_ENCRYPTED_SHIFT),
      forbidUnencryptedRoomCreation: decodeOverride(bits, FORBID_UNENCRYPTED_SHIFT),
    };
  }

  /** The string field (`U_ID`, `U_CREDENTIAL`, …) of the user at `index`. */
  stringAt(index: number, field: number): string {
    const { users, bytes, stringsOffset } = this.views;
    const start = stringsOffset + (users[index * USER_WORDS + field] as number) * 2;
    return bytes.toString('utf16le', start, start + (users[index * USER_WORDS + field + 1] as number) * 2);
  }

  /** Whether the id of the user at `index` is `id`, compared in place (no string is built). */
  private idEquals(index: number, id: string): boolean {
    const { users, strings } = this.views;
    if (users[index * USER_WORDS + U_ID + 1] !== id.length) return false;
    const start = users[index * USER_WORDS + U_ID] as number;
    for (let i = 0; i < id.length; i += 1) if (strings[start + i] !== id.charCodeAt(i)) return false;
    return true;
  }

  forEach(callback: (value: SnapshotUser, key: string, map: ReadonlyMap<string, SnapshotUser>) => void, thisArg?: unknown): void {
    for (const [id, user] of this.entries()) callback.call(thisArg, user, id, this);
  }

  /** Iterating materialises every user without memoising them (the memo keeps the users looked up). */
  *entries(): MapIterator<[string, SnapshotUser]> {
    for (let index = 0; index < this.views.userCount; index += 1) {
      const user = this.memo.get(index) ?? this.materialise(index);
      yield [user.id, user];
    }
  }

  *keys(): MapIterator<string> {
    for (let index = 0; index < this.views.userCount; index += 1) yield this.stringAt(index, U_ID);
  }

  *values(): MapIterator<SnapshotUser> {
    for (let index = 0; index < this.views.userCount; index += 1) yield this.memo.get(index) ?? this.materialise(index);
  }

  [Symbol.iterator](): MapIterator<[string, SnapshotUser]> {
    return this.entries();
  }
}

/**
 * `ReadonlyMap<lower-cased MXID, exact MXID>` over the packed bytes, for matching login
 * identifiers case-insensitively as Synapse does. Thread-local, like {@link PackedUserMap}.
 */
export class PackedLowercaseIndex implements ReadonlyMap<string, string> {
  constructor(private readonly views: PackedViews, private readonly users: PackedUserMap) {}

  get size(): number {
    return this.views.userCount;
  }

  /** The exact MXID of the policy user whose lower-cased id is `lowercaseId`, or undefined. */
  get(lowercaseId: string): string | undefined {
    const { lower } = this.views;
    const mask = lower.length - 1;
    for (let slot = fnv1a(lowercaseId) & mask; ; slot = (slot + 1) & mask) {
      const entry = lower[slot] as number;
      if (entry === 0) return undefined;
      const id = this.users.stringAt(entry - 1, U_ID);
      if (id.toLowerCase() === lowercaseId) return id;
    }
  }

  has(lowercaseId: string): boolean {
    return this.get(lowercaseId) !== undefined;
  }

  forEach(callback: (value: string, key: string, map: ReadonlyMap<string, string>) => void, thisArg?: unknown): void {
    for (const [lowercaseId, id] of this.entries()) callback.call(thisArg, id, lowercaseId, this);
  }

  *entries(): MapIterator<[string, string]> {
    for (const id of this.users.keys()) yield [id.toLowerCase(), id];
  }

  *keys(): MapIterator<string> {
    for (const id of this.users.keys()) yield id.toLowerCase();
  }

  *values(): MapIterator<string> {
    yield* this.users.keys();
  }

  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.entries();
  }
}
