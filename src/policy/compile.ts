import { compileHook } from './compile-hook.js';
import type { HookEventType, PolicySnapshot, SnapshotHook, SnapshotUser } from './snapshot.js';
import type { PolicyIssue } from './issues.js';
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
   * `Corporal.UserID`: an entry for it (ids compared ignoring case) is left out of the snapshot,
   * see {@link corporalUserWarnings}. Absent: none is left out (a file checked without a config).
   */
  corporalUserId?: string;
}

/**
 * One warning per policy entry for `corporalUserId` (ids compared ignoring case), which
 * {@link compilePolicy} leaves out. Corporal's own account is a Synapse server admin whose
 * password is derived from the shared secret: the reconciler never manages it, and an entry for
 * it must not make the gateway manage it either. Login would check the entry's credential (a
 * `plain` password, say) and then log in with the derived one, handing the admin account to
 * whoever knows the policy credential (red team 11, F1). Case is ignored because login matches
 * policy users ignoring case.
 */
export function corporalUserWarnings(document: PolicyDocument, corporalUserId: string): PolicyIssue[] {
  const wanted = corporalUserId.toLowerCase();
  const warnings: PolicyIssue[] = [];
  document.users.forEach((user, index) => {
    if (user.id.toLowerCase() !== wanted) return;
    warnings.push({
      pointer: `/users/${index}`,
      message: `${user.id} is Corporal.UserID: Corporal never manages its own account, so this entry is ignored (its credential logs nobody in)`,
    });
  });
  return warnings;
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
  const leftOut = options.corporalUserId?.toLowerCase() ?? null;
  for (const user of document.users) {
    if (user.id.toLowerCase() === leftOut) continue;
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
