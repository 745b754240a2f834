import type { PolicyFlags, PolicySnapshot, SnapshotHooks, SnapshotUser } from '../../src/policy/snapshot.js';
import { FLAG_NAMES, HOOK_EVENT_TYPES } from '../../src/policy/vocabulary.js';

/** What a hand-built test snapshot is made of. */
export interface FixtureSnapshotParts {
  users: readonly SnapshotUser[];
  managedRoomIds: Iterable<string>;
  /** Flags set; every other flag is false. */
  flags?: Partial<PolicyFlags>;
}

/**
 * A `PolicySnapshot` built by hand for tests that exercise checks, plans or change detection
 * without the policy pipeline: generation 1, every flag false unless given, the user indexes
 * derived from `users`, no hooks.
 */
export function fixtureSnapshot(parts: FixtureSnapshotParts): PolicySnapshot {
  const flags = Object.fromEntries(FLAG_NAMES.map((name) => [name, parts.flags?.[name] === true])) as unknown as PolicyFlags;
  return {
    generation: 1,
    hash: 'fixture',
    loadedAt: 0,
    source: 'fixture',
    flags,
    managedRoomIds: new Set(parts.managedRoomIds),
    users: new Map(parts.users.map((user) => [user.id, user])),
    userIdsByLowercase: new Map(parts.users.map((user) => [user.id.toLowerCase(), user.id])),
    hooks: Object.fromEntries(HOOK_EVENT_TYPES.map((type) => [type, []])) as unknown as SnapshotHooks,
  };
}
