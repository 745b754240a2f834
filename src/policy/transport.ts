import { CorporalError } from '../common/errors.js';
import {
  AUTH_SHIFT, BIT_ACTIVE, BIT_POWER_LEVELS_MANAGED, FORBID_ENCRYPTED_SHIFT, FORBID_ROOM_SHIFT, FORBID_UNENCRYPTED_SHIFT,
  HEADER_WORDS, PACKED_MAGIC, PACKED_VERSION, U_AVATAR, U_BITS, U_CREDENTIAL, U_DISPLAY_NAME, U_FIRST_ROOM, U_ID, U_ROOM_COUNT,
  USER_WORDS, align8, encodeOverride, fnv1a, tableSizeFor, type PackedMeta,
} from './packed-layout.js';
import { PackedLowercaseIndex, PackedUserMap, type PackedViews } from './packed-users.js';
import type { PolicySnapshot, SnapshotUser } from './snapshot.js';
import { AUTH_TYPES } from './vocabulary.js';

/**
 * Serialises a snapshot into one compact, self-describing byte array (layout: packed-layout.ts).
 *
 * Why: structured-cloning a snapshot of 100k users (Maps of objects) costs seconds per hop and
 * over 100 MiB per gateway thread (bench/policy-compile.ts). The bytes instead cross the IPC
 * channel as one buffer; the supervisor copies them once into a SharedArrayBuffer that every
 * thread reads in place with {@link decodeSnapshot}, which builds no per-user objects up front.
 */
export function encodeSnapshot(snapshot: PolicySnapshot): Uint8Array {
  const users = [...snapshot.users.values()];
  const roomIndex = new Map<string, number>();
  for (const roomId of snapshot.managedRoomIds) roomIndex.set(roomId, roomIndex.size);
  const managedRoomCount = roomIndex.size;
  let membershipCount = 0;
  let stringUnits = 0;
  for (const user of users) {
    membershipCount += user.joinedRooms.size;
    stringUnits += user.id.length + user.authCredential.length + user.displayName.length + user.avatarUri.length;
    for (const roomId of user.joinedRooms.keys()) if (!roomIndex.has(roomId)) roomIndex.set(roomId, roomIndex.size);
  }
  for (const roomId of roomIndex.keys()) stringUnits += roomId.length;

  const tableSize = tableSizeFor(users.length);
  const offsets = { users: 0, rooms: 0, levels: 0, exact: 0, lower: 0, roomIds: 0, strings: 0 };
  offsets.users = align8(HEADER_WORDS * 4);
  offsets.rooms = align8(offsets.users + users.length * USER_WORDS * 4);
  offsets.levels = align8(offsets.rooms + membershipCount * 4);
  offsets.exact = align8(offsets.levels + membershipCount * 8);
  offsets.lower = align8(offsets.exact + tableSize * 4);
  offsets.roomIds = align8(offsets.lower + tableSize * 4);
  offsets.strings = align8(offsets.roomIds + roomIndex.size * 8);
  const meta: PackedMeta = {
    generation: snapshot.generation,
    hash: snapshot.hash,
    loadedAt: snapshot.loadedAt,
    source: snapshot.source,
    flags: snapshot.flags,
    hooks: snapshot.hooks as PackedMeta['hooks'],
    authTypes: [...AUTH_TYPES],
    userCount: users.length,
    roomCount: roomIndex.size,
    managedRoomCount,
    membershipCount,
    tableSize,
    offsets,
  };
  const metaBytes = Buffer.from(JSON.stringify(meta), 'utf8');
  const metaOffset = align8(offsets.strings + stringUnits * 2);
  const out = Buffer.alloc(metaOffset + metaBytes.length);
  const words = new Uint32Array(out.buffer, out.byteOffset, offsets.strings / 4);
  const levels = new Float64Array(out.buffer, out.byteOffset + offsets.levels, membershipCount);
  words.set([PACKED_MAGIC, PACKED_VERSION, metaOffset, metaBytes.length]);

  // Strings are UTF-16 code units: offsets need no byte counting, and readers compare ids in place.
  const parts: string[] = [];
  let unit = 0;
  const addString = (text: string, at: number): void => {
    words[at] = unit;
    words[at + 1] = text.length;
    parts.push(text);
    unit += text.length;
  };
  let membership = 0;
  const roomsBase = offsets.rooms / 4;
  for (let index = 0; index < users.length; index += 1) {
    const user = users[index] as SnapshotUser;
    const base = offsets.users / 4 + index * USER_WORDS;
    addString(user.id, base + U_ID);
    addString(user.authCredential, base + U_CREDENTIAL);
    addString(user.displayName, base + U_DISPLAY_NAME);
    addString(user.avatarUri, base + U_AVATAR);
    words[base + U_FIRST_ROOM] = membership;
    words[base + U_ROOM_COUNT] = user.joinedRooms.size;
    words[base + U_BITS] = packBits(user);
    // Map.forEach, unlike for…of over entries, allocates no [key, value] pair per membership.
    user.joinedRooms.forEach((level, roomId) => {
      words[roomsBase + membership] = roomIndex.get(roomId) as number;
      levels[membership] = level;
      membership += 1;
    });
    insert(words, offsets.exact / 4, tableSize, fnv1a(user.id), index);
    insert(words, offsets.lower / 4, tableSize, fnv1a(user.id.toLowerCase()), index);
  }
  let roomSlot = offsets.roomIds / 4;
  for (const roomId of roomIndex.keys()) {
    addString(roomId, roomSlot);
    roomSlot += 2;
  }
  out.write(parts.join(''), offsets.strings, 'utf16le');
  metaBytes.copy(out, metaOffset);
  return out;
}

function packBits(user: SnapshotUser): number {
  return (user.active ? BIT_ACTIVE : 0)
    | (user.powerLevelsManaged ? BIT_POWER_LEVELS_MANAGED : 0)
    | (AUTH_TYPES.indexOf(user.authType) << AUTH_SHIFT)
    | (encodeOverride(user.forbidRoomCreation) << FORBID_ROOM_SHIFT)
    | (encodeOverride(user.forbidEncryptedRoomCreation) << FORBID_ENCRYPTED_SHIFT)
    | (encodeOverride(user.forbidUnencryptedRoomCreation) << FORBID_UNENCRYPTED_SHIFT);
}

/** Linear probing; ids are unique (validated), so no equality check is needed while inserting. */
function insert(words: Uint32Array, tableStart: number, tableSize: number, hash: number, index: number): void {
  const mask = tableSize - 1;
  let slot = hash & mask;
  while (words[tableStart + slot] !== 0) slot = (slot + 1) & mask;
  words[tableStart + slot] = index + 1;
}

/**
 * Opens bytes made by {@link encodeSnapshot} (typically a view of a SharedArrayBuffer shared by all
 * gateway threads) as a {@link PolicySnapshot}. No copy of the user data is made: `users` and
 * `userIdsByLowercase` are read-only Map views over the bytes that materialise a user when asked.
 * `managedRoomIds` and `hooks` are ordinary values. The result is thread-local; the bytes must not
 * change while it is in use. Throws `CORP_ERR_SNAPSHOT_FORMAT` for anything else.
 */
export function decodeSnapshot(input: Uint8Array): PolicySnapshot {
  // Typed views need aligned offsets; a buffer sliced at an odd offset is copied once.
  const bytes = input.byteOffset % 8 === 0 ? input : new Uint8Array(input);
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < HEADER_WORDS * 4) throw formatError('too short');
  const header = new Uint32Array(bytes.buffer, bytes.byteOffset, HEADER_WORDS);
  const [magic, version, metaOffset = 0, metaLength = 0] = header;
  if (magic !== PACKED_MAGIC || version !== PACKED_VERSION) throw formatError('unknown format or version');
  if (metaOffset + metaLength > bytes.byteLength) throw formatError('truncated');
  const meta = JSON.parse(buffer.toString('utf8', metaOffset, metaOffset + metaLength)) as PackedMeta;
  const { offsets, tableSize, membershipCount, userCount, roomCount } = meta;
  if (offsets.strings > metaOffset || offsets.users + userCount * USER_WORDS * 4 > offsets.rooms) throw formatError('inconsistent sections');
  const u32 = (offset: number, length: number): Uint32Array => new Uint32Array(bytes.buffer, bytes.byteOffset + offset, length);
  const roomWords = u32(offsets.roomIds, roomCount * 2);
  const roomIds: string[] = new Array(roomCount);
  for (let i = 0; i < roomCount; i += 1) {
    const start = offsets.strings + (roomWords[i * 2] as number) * 2;
    roomIds[i] = buffer.toString('utf16le', start, start + (roomWords[i * 2 + 1] as number) * 2);
  }
  const views: PackedViews = {
    bytes: buffer,
    users: u32(offsets.users, userCount * USER_WORDS),
    rooms: u32(offsets.rooms, membershipCount),
    levels: new Float64Array(bytes.buffer, bytes.byteOffset + offsets.levels, membershipCount),
    exact: u32(offsets.exact, tableSize),
    lower: u32(offsets.lower, tableSize),
    strings: new Uint16Array(bytes.buffer, bytes.byteOffset + offsets.strings, (metaOffset - offsets.strings) / 2),
    stringsOffset: offsets.strings,
    roomIds,
    authTypes: meta.authTypes,
    userCount,
  };
  const users = new PackedUserMap(views);
  return {
    generation: meta.generation,
    hash: meta.hash,
    loadedAt: meta.loadedAt,
    source: meta.source,
    flags: meta.flags,
    managedRoomIds: new Set(roomIds.slice(0, meta.managedRoomCount)),
    users,
    userIdsByLowercase: new PackedLowercaseIndex(views, users),
    hooks: meta.hooks,
  };
}

function formatError(detail: string): CorporalError {
  return new CorporalError('CORP_ERR_SNAPSHOT_FORMAT', `policy snapshot bytes are not readable: ${detail}`, { source: 'internal' });
}
