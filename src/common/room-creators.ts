/**
 * Who holds a room's creator powers, as Synapse 1.163.2 decides it — one rule for the reconciler's
 * observer and the gateway's power-levels check, which must never disagree about who outranks
 * whom. Both read an `m.room.create` event as its `sender` and `content`.
 */

/** The parts of an `m.room.create` event these rules read. */
export interface CreateEventParts {
  readonly sender?: unknown;
  readonly content?: unknown;
}

/** The room version a create event's content names; rooms from before versions existed carry none: "1". */
function roomVersionOf(content: unknown): string {
  const version = isObject(content) ? content['room_version'] : undefined;
  return typeof version === 'string' ? version : '1';
}

/**
 * Whether `roomVersion` is a numbered version at least `version`, counting the "hydra"
 * pre-release of v12 as 12; other named (experimental) versions are not.
 */
function roomVersionAtLeast(roomVersion: string, version: number): boolean {
  if (roomVersion === 'org.matrix.hydra.11') return 12 >= version;
  return /^\d+$/.test(roomVersion) && Number(roomVersion) >= version;
}

/**
 * Room versions in which the creators (the `m.room.create` sender and `additional_creators`) have
 * unlimited power and are never listed in `m.room.power_levels` (MSC4289): "12" and later, and the
 * "hydra" pre-release of v12.
 */
export function creatorsHaveUnlimitedPower(roomVersion: string): boolean {
  return roomVersionAtLeast(roomVersion, 12);
}

/** The users with unlimited power in the room (MSC4289): empty before v12. */
export function unlimitedCreators(create: CreateEventParts): Set<string> {
  const creators = new Set<string>();
  const content = create.content;
  if (!isObject(content) || !creatorsHaveUnlimitedPower(roomVersionOf(content))) return creators;
  if (typeof create.sender === 'string' && create.sender !== '') creators.add(create.sender);
  const additional = content['additional_creators'];
  if (Array.isArray(additional)) for (const creator of additional) if (typeof creator === 'string') creators.add(creator);
  return creators;
}

/**
 * The user Synapse gives level 100 in a room without `m.room.power_levels`
 * (`event_auth.get_user_power_level`), or null: the create event's sender from room v11
 * (`implicit_room_creator`), its `content.creator` before. (v12 creators have unlimited power anyway.)
 */
export function implicitCreator(create: CreateEventParts): string | null {
  const content = create.content;
  if (roomVersionAtLeast(roomVersionOf(content), 11)) return typeof create.sender === 'string' && create.sender !== '' ? create.sender : null;
  const creator = isObject(content) ? content['creator'] : undefined;
  return typeof creator === 'string' ? creator : null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
