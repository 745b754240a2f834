/**
 * The compiled, plain-data form of a valid policy that gateway threads enforce.
 *
 * Built once per policy generation by the control child, sent to the supervisor over IPC
 * (`serialization: 'advanced'`, so Maps and Sets survive) and from there to every gateway thread.
 * Plain data only (no class instances, functions or RegExp objects): each thread rebuilds its
 * matchers from the regex sources it carries.
 */
export interface PolicySnapshot {
  /** Increases by one for every accepted policy; a thread only swaps to a higher generation. */
  generation: number;
  /** sha256 (hex) of the normalised policy; identical content ⇒ identical hash. */
  hash: string;
  /** Epoch ms at which the control child accepted this policy. */
  loadedAt: number;
  /** Where the policy came from (`static_file:/path`, `http:https://…`, `api`, …). */
  source: string;
  flags: PolicyFlags;
  /** Rooms whose membership is enforced. */
  managedRoomIds: ReadonlySet<string>;
  /** Managed users by exact MXID. */
  users: ReadonlyMap<string, SnapshotUser>;
  /** Lower-cased MXID → exact MXID, for matching login identifiers as Synapse does (case-insensitively). */
  userIdsByLowercase: ReadonlyMap<string, string>;
  /** Event hooks grouped by event type, each list in policy order. */
  hooks: SnapshotHooks;
}

/** The policy's global flags, every one resolved to a boolean (absent = false). */
export interface PolicyFlags {
  allowCustomUserDisplayNames: boolean;
  allowCustomUserAvatars: boolean;
  allowCustomPassthroughUserPasswords: boolean;
  allowUnauthenticatedPasswordResets: boolean;
  forbidRoomCreation: boolean;
  forbidEncryptedRoomCreation: boolean;
  forbidUnencryptedRoomCreation: boolean;
  allow3pidLogin: boolean;
  /**
   * Corporal only: managed users may not add, bind, unbind or delete 3PIDs (`account.3pid.*`
   * routes). Default false, matrix-corporal's behaviour (it never policed those routes).
   */
  forbid3pidChanges: boolean;
}

/** Authentication types of managed users. */
export type AuthType = 'plain' | 'passthrough' | 'md5' | 'sha1' | 'sha256' | 'sha512' | 'bcrypt' | 'rest';

/** One managed user as the gateway needs it. */
export interface SnapshotUser {
  id: string;
  active: boolean;
  authType: AuthType;
  authCredential: string;
  displayName: string;
  avatarUri: string;
  /** Rooms the user must be in → required power level. */
  joinedRooms: ReadonlyMap<string, number>;
  /** False for schema-1 users (`joinedRoomIds`), whose power levels Corporal does not manage. */
  powerLevelsManaged: boolean;
  /** Per-user overrides; `null` = use the global flag. */
  forbidRoomCreation: boolean | null;
  forbidEncryptedRoomCreation: boolean | null;
  forbidUnencryptedRoomCreation: boolean | null;
}

/** Hook event types (matrix-corporal's eight). */
export type HookEventType =
  | 'beforeAnyRequest'
  | 'beforeAuthenticatedRequest'
  | 'beforeAuthenticatedPolicyCheckedRequest'
  | 'beforeUnauthenticatedRequest'
  | 'afterAnyRequest'
  | 'afterAuthenticatedRequest'
  | 'afterAuthenticatedPolicyCheckedRequest'
  | 'afterUnauthenticatedRequest';

/** Hooks by event type; a type with no hooks has an empty list. Hook shape: see `policy/hooks`. */
export type SnapshotHooks = Readonly<Record<HookEventType, readonly unknown[]>>;
