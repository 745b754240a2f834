/**
 * Who holds a room's creator powers, as Synapse 1.163.2 decides it — one rule for the reconciler's
 * observer and the gateway's power-levels check, which must never disagree about who outranks
 * whom. Both read an `m.room.create` event as its `sender` and `content`.
 */
import { isJsonObject } from './json-object.js';

/** The parts of an `m.room.create` event these rules read. */
export interface CreateEventParts {
  readonly sender?: unknown;
  readonly content?: unknown;
}

/** The room version a create event's content names; rooms from before versions existed carry none: "1". */
function roomVersionOf(content: unknown): string {
  const version = isJsonObject(content) ? content['room_version'] : undefined;
  return typeof version === 'string' ? version : '1';
}

/** What a room version says about its creators, as Synapse's `KNOWN_ROOM_VERSIONS` says it. */
interface CreatorRules {
  /** The creator is the create event's sender, not `content.creator` (`implicit_room_creator`). */
  readonly creatorIsSender: boolean;
  /** The creators have unlimited power and are never listed in power levels (`msc4289_creator_power_enabled`). */
  readonly unlimitedPower: boolean;
}

/**
 * Synapse 1.163.2's named (experimental) room versions whose creator rules differ from "1"'s
 * (`synapse/api/room_versions.py`); numbered versions follow {@link rulesOf}.
 */
const NAMED_VERSIONS: ReadonlyMap<string, CreatorRules> = new Map([
  ['org.matrix.msc3757.11', { creatorIsSender: true, unlimitedPower: false }],
  ['org.matrix.hydra.11', { creatorIsSender: true, unlimitedPower: true }],
]);

/**
 * The creator rules of `roomVersion`: numbered versions from 11 have the sender as creator, from
 * 12 unlimited creator power (later numbers are taken to keep both); the named versions above as
 * listed; any other named version as version 1.
 */
function rulesOf(roomVersion: string): CreatorRules {
  const named = NAMED_VERSIONS.get(roomVersion);
  if (named !== undefined) return named;
  const number = /^\d+$/.test(roomVersion) ? Number(roomVersion) : 1;
  return { creatorIsSender: number >= 11, unlimitedPower: number >= 12 };
}

/**
 * Room versions in which the creators (the `m.room.create` sender and `additional_creators`) have
 * unlimited power and are never listed in `m.room.power_levels` (MSC4289): "12" and later, and the
 * "hydra" pre-release of v12.
 */
export function creatorsHaveUnlimitedPower(roomVersion: string): boolean {
  return rulesOf(roomVersion).unlimitedPower;
}

/** The users with unlimited power in the room (MSC4289): empty before v12. */
export function unlimitedCreators(create: CreateEventParts): Set<string> {
  const creators = new Set<string>();
  const content = create.content;
  if (!isJsonObject(content) || !creatorsHaveUnlimitedPower(roomVersionOf(content))) return creators;
  if (typeof create.sender === 'string' && create.sender !== '') creators.add(create.sender);
  const additional = content['additional_creators'];
  if (Array.isArray(additional)) for (const creator of additional) if (typeof creator === 'string') creators.add(creator);
  return creators;
}

/**
 * The user Synapse gives level 100 in a room without `m.room.power_levels`
 * (`event_auth.get_user_power_level`), or null: the create event's sender from room v11 (and
 * `org.matrix.msc3757.11`, `implicit_room_creator`), its `content.creator` before. (v12 creators
 * have unlimited power anyway.)
 */
export function implicitCreator(create: CreateEventParts): string | null {
  const content = create.content;
  if (rulesOf(roomVersionOf(content)).creatorIsSender) return typeof create.sender === 'string' && create.sender !== '' ? create.sender : null;
  const creator = isJsonObject(content) ? content['creator'] : undefined;
  return typeof creator === 'string' ? creator : null;
}

