import type { AuthType, HookEventType, PolicyFlags, SnapshotHook } from './snapshot.js';

/**
 * The byte layout of an encoded snapshot (see transport.ts), shared by the encoder and the
 * readers. Little-endian; every section starts at a multiple of 8.
 *
 * ```
 * header   u32 × 4   magic, format version, meta offset, meta length
 * users    u32 × 11 per user   id/credential/displayName/avatarUri as (offset, length) into
 *                               strings, first membership, membership count, packed bits
 * rooms    u32 × 1 per membership  index into the room table
 * levels   f64 × 1 per membership  power level
 * exact    u32 × tableSize   open-addressing index: FNV-1a(id) → user index + 1 (0 = empty)
 * lower    u32 × tableSize   the same for the lower-cased id
 * roomIds  u32 × 2 per room  (offset, length) into strings; managed rooms first
 * strings  UTF-16LE code units (offsets and lengths above count code units)
 * meta     UTF-8 JSON {@link PackedMeta}
 * ```
 */

/** `CPS1`. */
export const PACKED_MAGIC = 0x31535043;
/** Layout version in the header; a reader refuses any other. */
export const PACKED_VERSION = 1;
/** u32 words of the header. */
export const HEADER_WORDS = 4;
/** u32 words of one user record. */
export const USER_WORDS = 11;

/** Word positions inside a user record: id, credential, display name and avatar are (offset, length) string pairs. */
export const U_ID = 0;
/** See {@link U_ID}. */
export const U_CREDENTIAL = 2;
/** See {@link U_ID}. */
export const U_DISPLAY_NAME = 4;
/** See {@link U_ID}. */
export const U_AVATAR = 6;
/** Index of the user's first room in the room table. */
export const U_FIRST_ROOM = 8;
/** How many rooms the user has. */
export const U_ROOM_COUNT = 9;
/** The packed bit word (below). */
export const U_BITS = 10;

/** Bit fields of the packed word: active, power levels managed, auth type, three tri-state overrides. */
export const BIT_ACTIVE = 1;
/** Set when the policy manages the user's power levels. */
export const BIT_POWER_LEVELS_MANAGED = 2;
/** The auth type's index (four bits) starts here. */
export const AUTH_SHIFT = 2;
/** Mask of the auth type's index after shifting. */
export const AUTH_MASK = 0b1111;
/** Two-bit tri-state override of `forbidRoomCreation`. */
export const FORBID_ROOM_SHIFT = 6;
/** Two-bit tri-state override of `forbidEncryptedRoomCreation`. */
export const FORBID_ENCRYPTED_SHIFT = 8;
/** Two-bit tri-state override of `forbidUnencryptedRoomCreation`. */
export const FORBID_UNENCRYPTED_SHIFT = 10;

/** Tri-state override encoding: 0 = null (use the flag), 1 = false, 2 = true. */
export function encodeOverride(value: boolean | null): number {
  return value === null ? 0 : value ? 2 : 1;
}

/** Inverse of {@link encodeOverride}. */
export function decodeOverride(bits: number, shift: number): boolean | null {
  const value = (bits >>> shift) & 0b11;
  return value === 0 ? null : value === 2;
}

/** Everything small enough to carry as JSON, plus where the sections are. */
export interface PackedMeta {
  generation: number;
  hash: string;
  loadedAt: number;
  source: string;
  flags: PolicyFlags;
  hooks: Record<HookEventType, SnapshotHook[]>;
  authTypes: AuthType[];
  userCount: number;
  roomCount: number;
  managedRoomCount: number;
  membershipCount: number;
  tableSize: number;
  offsets: { users: number; rooms: number; levels: number; exact: number; lower: number; roomIds: number; strings: number };
}

/**
 * FNV-1a over the UTF-16 code units of `text`. The encoder and the readers both hash JS strings,
 * so the index never depends on how the strings are stored.
 */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** Smallest power of two ≥ 2 × count (load factor ≤ 0.5), at least 8. */
export function tableSizeFor(count: number): number {
  let size = 8;
  while (size < count * 2) size *= 2;
  return size;
}

/** Rounds up to a multiple of 8. */
export function align8(offset: number): number {
  return Math.ceil(offset / 8) * 8;
}
