import { FindingsCollector, type FindingsSink } from './findings.js';
import { childPointer, type PolicyFindings } from './issues.js';
import { isJsonObject } from '../common/json-object.js';
import { normaliseContext, objectShape, readFields, readFieldsInto, type NormaliseContext } from './normalise-fields.js';
import { normaliseHook } from './normalise-hook.js';
import type { PolicyFlags } from './snapshot.js';
import type { PolicyDocument, PolicyJoinedRoom, PolicyUser } from './types.js';
import { FLAG_NAMES } from './vocabulary.js';

/** What normalisation learnt about the document as written. */
export interface NormaliseMeta {
  /** The `schemaVersion` the author wrote, or null when it was missing or unsupported. */
  sourceSchemaVersion: 1 | 2 | null;
  /** Pointer of a match rule made from a shorthand key → pointer of that key (see {@link sourcePointer}). */
  shorthandRules: ReadonlyMap<string, string>;
}

/** The normalised document and what was learnt on the way ({@link normalisePolicyInto}). */
export interface Normalised {
  document: PolicyDocument;
  meta: NormaliseMeta;
}

/**
 * Outcome of {@link normalisePolicy}. `document` is meaningful only when `errors` is empty. The
 * lists are bounded as {@link FindingsCollector.report} bounds them.
 */
export interface NormaliseResult extends Normalised, PolicyFindings {}

const TOP_SHAPE = objectShape(
  ['schemaVersion', 'identificationStamp', 'flags', 'managedRoomIds', 'hooks', 'users'],
  ['managedCommunityIds'],
);
const FLAGS_SHAPE = objectShape(FLAG_NAMES);
const USER_SHAPE = objectShape(
  ['id', 'active', 'authType', 'authCredential', 'displayName', 'avatarUri', 'joinedRooms', 'joinedRoomIds',
    'forbidRoomCreation', 'forbidEncryptedRoomCreation', 'forbidUnencryptedRoomCreation'],
  ['joinedCommunityIds'],
);
const ROOM_SHAPE = objectShape(['roomId', 'powerLevel']);

/**
 * Turns a parsed policy (any JSON value) into the canonical {@link PolicyDocument}.
 *
 * - Keys are matched as Go's `encoding/json` matches them (exact spelling preferred, otherwise
 *   case-insensitive; when several keys land on one field the last wins, with a warning); `null`
 *   counts as absent; unknown keys are ignored with a warning, except the legacy
 *   `managedCommunityIds` / `joinedCommunityIds`, which are dropped silently.
 * - Every absent field gets its default, so two documents that mean the same normalise equally.
 * - `schemaVersion` must be 1 or 2. In schema 1 a user's rooms are `joinedRoomIds: string[]`; they
 *   become `joinedRooms` with power level 0 and the user gets `powerLevelsManaged: false`.
 *   A user with both `joinedRooms` and `joinedRoomIds` is an error; a user with only the other
 *   schema's field has it ignored with a warning, as the matrix-corporal version of that schema did.
 * - Hook shorthands become match rules (see `normaliseHook`).
 *
 * Values of the wrong JSON type are kept where they are, so that `validatePolicy` reports them with
 * their pointer. Pure: the input is not modified (the output may share leaf objects with it).
 */
export function normalisePolicy(value: unknown): NormaliseResult {
  const findings = new FindingsCollector();
  return { ...normalisePolicyInto(value, findings), ...findings.report() };
}

/**
 * {@link normalisePolicy}, putting its errors and warnings into `findings` (the pipeline passes
 * one collector to every stage, so that the issues of all stages are bounded together).
 */
export function normalisePolicyInto(value: unknown, findings: FindingsSink): Normalised {
  const context = normaliseContext(findings);
  const raw = isJsonObject(value) ? value : {};
  if (!isJsonObject(value)) context.errors.push({ pointer: '', message: 'the policy must be a JSON object' });
  const top = readFields(raw, TOP_SHAPE, () => '', context);
  const sourceSchemaVersion = schemaVersionOf(top.schemaVersion, context);
  const document = {
    schemaVersion: 2,
    identificationStamp: top.identificationStamp ?? null,
    flags: isJsonObject(top.flags) ? flagsOf(top.flags, context) : (top.flags ?? flagsOf({}, context)),
    managedRoomIds: top.managedRoomIds ?? [],
    hooks: mapObjects(top.hooks, '/hooks', (hook, pointer) => normaliseHook(hook, pointer, context)),
    users: mapObjects(top.users, '/users', (user, pointer) => normaliseUser(user, pointer, sourceSchemaVersion ?? 2, context)),
  } as PolicyDocument;
  return { document, meta: { sourceSchemaVersion, shorthandRules: context.shorthandRules } };
}

/**
 * Maps a pointer into the normalised document back to the place in the document as written:
 * a schema-1 user's `/joinedRooms/3/roomId` is `/joinedRoomIds/3`; a match rule made from a
 * shorthand is that shorthand key. Other pointers are returned unchanged.
 */
export function sourcePointer(meta: NormaliseMeta, pointer: string): string {
  if (meta.sourceSchemaVersion === 1) {
    const match = /^(\/users\/\d+\/)joinedRooms(\/\d+)?(?:\/.*)?$/.exec(pointer);
    if (match !== null) return `${match[1]}joinedRoomIds${match[2] ?? ''}`;
  }
  for (let end = pointer.length; end > 0; end = pointer.lastIndexOf('/', end - 1)) {
    const alias = meta.shorthandRules.get(pointer.slice(0, end));
    if (alias !== undefined) return alias;
  }
  return pointer;
}

function schemaVersionOf(value: unknown, context: NormaliseContext): 1 | 2 | null {
  if (value === 1 || value === 2) return value;
  const message = typeof value === 'number'
    ? `found policy with schema version (${value}) that we do not support (supported: 1, 2)`
    : value === undefined ? 'schemaVersion is missing (supported: 1, 2)' : 'schemaVersion must be the number 1 or 2';
  context.errors.push({ pointer: '/schemaVersion', message });
  return null;
}

function flagsOf(raw: Record<string, unknown>, context: NormaliseContext): PolicyFlags {
  const fields = readFields(raw, FLAGS_SHAPE, () => '/flags', context);
  const flags: Record<string, unknown> = {};
  for (const name of FLAG_NAMES) flags[name] = fields[name] ?? false;
  return flags as unknown as PolicyFlags;
}

/**
 * Maps each object element of a JSON array (`map` gets the element's pointer); other elements, and
 * a value that is not an array, stay as they are.
 */
function mapObjects<T>(value: unknown, pointer: string, map: (item: Record<string, unknown>, pointer: string) => T): unknown {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return value;
  const out: unknown[] = new Array(value.length);
  for (let index = 0; index < value.length; index += 1) {
    const item: unknown = value[index];
    out[index] = isJsonObject(item) ? map(item, childPointer(pointer, index)) : item;
  }
  return out;
}

function normaliseUser(raw: Record<string, unknown>, pointer: string, schema: 1 | 2, context: NormaliseContext): PolicyUser {
  const fields = readFields(raw, USER_SHAPE, () => pointer, context);
  return {
    id: fields.id ?? '',
    active: fields.active ?? false,
    authType: fields.authType ?? '',
    authCredential: fields.authCredential ?? '',
    displayName: fields.displayName ?? '',
    avatarUri: fields.avatarUri ?? '',
    joinedRooms: joinedRoomsOf(fields.joinedRooms, fields.joinedRoomIds, pointer, schema, context),
    forbidRoomCreation: fields.forbidRoomCreation ?? null,
    forbidEncryptedRoomCreation: fields.forbidEncryptedRoomCreation ?? null,
    forbidUnencryptedRoomCreation: fields.forbidUnencryptedRoomCreation ?? null,
    powerLevelsManaged: schema === 2,
  } as PolicyUser;
}

function joinedRoomsOf(rooms: unknown, roomIds: unknown, pointer: string, schema: 1 | 2, context: NormaliseContext): unknown {
  if (rooms !== undefined && roomIds !== undefined) {
    context.errors.push({
      pointer,
      message: 'a user may have joinedRooms (schema 2) or joinedRoomIds (schema 1), not both',
    });
    return schema === 1 ? roomIdsToRooms(roomIds) : normaliseRooms(rooms, pointer, context);
  }
  if (schema === 2) {
    if (roomIds !== undefined) otherSchemaRooms(pointer, 'joinedRoomIds', roomIds, 2, context);
    return rooms === undefined ? [] : normaliseRooms(rooms, pointer, context);
  }
  if (rooms !== undefined) otherSchemaRooms(pointer, 'joinedRooms', rooms, 1, context);
  return roomIds === undefined ? [] : roomIdsToRooms(roomIds);
}

/**
 * A user's rooms under the other schema version's field. Empty, it is ignored with a warning. Not
 * empty, the policy is refused: read as this schema, the user would have no rooms, and the
 * reconciler would take them out of every managed room (red team 8, F2: a generator half-way
 * through the schema 2 migration emptied every room that way).
 */
function otherSchemaRooms(pointer: string, field: string, value: unknown, schema: 1 | 2, context: NormaliseContext): void {
  const other = schema === 2 ? 1 : 2;
  if (Array.isArray(value) && value.length === 0) {
    context.warnings.push({ pointer: childPointer(pointer, field), message: `${field} belongs to schema version ${other} and is ignored in a schemaVersion ${schema} policy` });
    return;
  }
  context.errors.push({
    pointer: childPointer(pointer, field),
    message: `${field} belongs to schema version ${other}: in a schemaVersion ${schema} policy this user would have no rooms; `
      + `use ${schema === 2 ? 'joinedRooms' : 'joinedRoomIds'}, or set schemaVersion to ${other}`,
  });
}

function normaliseRooms(rooms: unknown, userPointer: string, context: NormaliseContext): unknown {
  if (!Array.isArray(rooms)) return rooms;
  // The hot loop of large policies (users × rooms): pointer strings are built only when reported.
  const out: unknown[] = new Array(rooms.length);
  for (let index = 0; index < rooms.length; index += 1) {
    const room: unknown = rooms[index];
    if (!isJsonObject(room)) {
      out[index] = room;
      continue;
    }
    if (isCanonicalRoom(room)) {
      // Already exactly {roomId, powerLevel}: shared, not copied (nothing ever mutates either).
      out[index] = room;
      continue;
    }
    const pointer = (): string => `${userPointer}/joinedRooms/${index}`;
    out[index] = readFieldsInto(room, ROOM_SHAPE, { roomId: '', powerLevel: 0 } as PolicyJoinedRoom, pointer, context);
  }
  return out;
}

/** True for an object whose own keys are exactly `roomId`, `powerLevel` (in this order), neither null. */
function isCanonicalRoom(room: Record<string, unknown>): boolean {
  let count = 0;
  for (const key in room) {
    if (key !== (count === 0 ? 'roomId' : count === 1 ? 'powerLevel' : '') || !Object.hasOwn(room, key)) return false;
    count += 1;
  }
  return count === 2 && room['roomId'] !== null && room['powerLevel'] !== null;
}

/** Schema 1: each room id becomes a room at power level 0 (a non-string stays for validation to report). */
function roomIdsToRooms(roomIds: unknown): unknown {
  if (!Array.isArray(roomIds)) return roomIds;
  return roomIds.map((roomId: unknown) => ({ roomId: roomId ?? '', powerLevel: 0 }));
}
