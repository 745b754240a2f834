import { compileHook } from './compile-hook.js';
import type { HookEventType, PolicySnapshot, SnapshotHook, SnapshotUser } from './snapshot.js';
import { isCorporalUserEntry } from './corporal-user-entry.js';
import type { PolicyDocument } from './types.js';
import { HOOK_EVENT_TYPES } from './vocabulary.js';

/** What the caller (the control child's store) decides about a snapshot. */
export interface CompileOptions {
  /** One more than the previous accepted policy's. */
  generation: number;
  /** `hashPolicy(document)`. */
  hash: string;
  /** Epoch ms of acceptance. */
  loadedAt: number;
  /** Where the policy came from (`static_file:/path`, `http:https://…`, `api`, …). */
  source: string;
  /**
   * `Corporal.UserID`: an entry for it (`isCorporalUserEntry`) is left out of the snapshot; loading
   * the policy with the same id warned about it. Absent: none is left out (a file checked without
   * a config).
   */
  corporalUserId?: string;
}

/**
 * Compiles a validated, normalised policy into the plain-data {@link PolicySnapshot} the gateway
 * enforces: users by exact MXID (each with a Map of required rooms; never `Corporal.UserID`'s),
 * the lower-case login index,
 * the managed-room set, and hooks grouped by event type in policy order. Pure; only documents that
 * `validatePolicy` accepted may be compiled.
 */
export function compilePolicy(document: PolicyDocument, options: CompileOptions): PolicySnapshot {
  const users = new Map<string, SnapshotUser>();
  const userIdsByLowercase = new Map<string, string>();
  const { corporalUserId } = options;
  for (const user of document.users) {
    if (corporalUserId !== undefined && isCorporalUserEntry(user.id, corporalUserId)) continue;
    const joinedRooms = new Map<string, number>();
    for (const room of user.joinedRooms) joinedRooms.set(room.roomId, room.powerLevel);
    users.set(user.id, {
      id: user.id,
      active: user.active,
      authType: user.authType,
      authCredential: user.authCredential,
      displayName: user.displayName,
      avatarUri: user.avatarUri,
      joinedRooms,
      powerLevelsManaged: user.powerLevelsManaged,
      forbidRoomCreation: user.forbidRoomCreation,
      forbidEncryptedRoomCreation: user.forbidEncryptedRoomCreation,
      forbidUnencryptedRoomCreation: user.forbidUnencryptedRoomCreation,
    });
    userIdsByLowercase.set(user.id.toLowerCase(), user.id);
  }
  const hooks = Object.fromEntries(HOOK_EVENT_TYPES.map((type) => [type, [] as SnapshotHook[]])) as Record<HookEventType, SnapshotHook[]>;
  for (const hook of document.hooks) hooks[hook.eventType].push(compileHook(hook, hook.eventType));
  return {
    generation: options.generation,
    hash: options.hash,
    loadedAt: options.loadedAt,
    source: options.source,
    flags: { ...document.flags },
    managedRoomIds: new Set(document.managedRoomIds),
    users,
    userIdsByLowercase,
    hooks,
  };
}
