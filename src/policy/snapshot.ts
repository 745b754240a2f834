/**
 * The compiled form of a valid policy that gateway threads enforce.
 *
 * Built once per policy generation by the control child (`compilePolicy`: plain Maps and Sets),
 * packed into bytes (`transport.ts`) that the supervisor shares with every gateway thread in one
 * SharedArrayBuffer. A thread decodes them into the same interface, but with `users` and
 * `userIdsByLowercase` as views over the shared bytes (`PackedUserMap`, `PackedLowercaseIndex`):
 * thread-local class instances, never to be posted to another thread (send the bytes). No
 * functions or RegExp objects either way: each thread builds its matchers from the regex sources.
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

/** Hooks by event type; a type with no hooks has an empty list. Each list is in policy order. */
export type SnapshotHooks = Readonly<Record<HookEventType, readonly SnapshotHook[]>>;

/** The six hook actions. */
export type HookAction =
  | 'pass.unmodified'
  | 'pass.modifiedRequest'
  | 'pass.modifiedResponse'
  | 'reject'
  | 'respond'
  | 'consult.RESTServiceURL';

/** What a match rule's regex is tested against: the HTTP method, the decoded path, the user's MXID. */
export type MatchRuleType = 'method' | 'route' | 'matrixUserID';

/**
 * A hook match rule as plain data. The policy's RE2 pattern (`regex`, kept for logs) was translated
 * at load time; a thread rebuilds the matcher once per snapshot with `new RegExp(source, flags)`.
 */
export interface SnapshotMatchRule {
  type: MatchRuleType;
  regex: string;
  source: string;
  flags: string;
  invert: boolean;
}

/** Fields every compiled hook has. */
export interface SnapshotHookBase {
  id: string;
  /** Null for hooks that run immediately: nested (contingency, async result) and REST-returned hooks. */
  eventType: HookEventType | null;
  /** All must pass (AND); empty = match everything. */
  matchRules: readonly SnapshotMatchRule[];
  skipNextHooksInChain: boolean;
}

/** `pass.unmodified`: let the request through. */
export interface PassUnmodifiedHook extends SnapshotHookBase {
  action: 'pass.unmodified';
}

/** `reject`: answer `{"errcode","error"}` with `responseStatusCode` (default 403). */
export interface RejectHook extends SnapshotHookBase {
  action: 'reject';
  responseStatusCode: number;
  rejectionErrorCode: string;
  rejectionErrorMessage: string;
}

/**
 * `respond`: answer with a fixed response. `responseBody` is precomputed: the string payload as is
 * (non-JSON content type, or `responseSkipPayloadJSONSerialization`), else `JSON.stringify` of the
 * payload (`null` when absent).
 */
export interface RespondHook extends SnapshotHookBase {
  action: 'respond';
  responseStatusCode: number;
  responseContentType: string;
  responseBody: string;
}

/** `pass.modifiedRequest`: merge JSON keys into the request body (a JSON object) and set headers. */
export interface PassModifiedRequestHook extends SnapshotHookBase {
  action: 'pass.modifiedRequest';
  injectJSONIntoRequest: Readonly<Record<string, unknown>>;
  injectHeadersIntoRequest: Readonly<Record<string, string>>;
}

/** `pass.modifiedResponse`: merge JSON keys into the upstream response body and set headers. */
export interface PassModifiedResponseHook extends SnapshotHookBase {
  action: 'pass.modifiedResponse';
  injectJSONIntoResponse: Readonly<Record<string, unknown>>;
  injectHeadersIntoResponse: Readonly<Record<string, string>>;
}

/** `consult.RESTServiceURL`: ask a REST service, which answers with the hook to run; defaults resolved. */
export interface ConsultHook extends SnapshotHookBase {
  action: 'consult.RESTServiceURL';
  RESTServiceURL: string;
  /** Default `POST`. */
  RESTServiceRequestMethod: string;
  RESTServiceRequestHeaders: Readonly<Record<string, string>>;
  /** Per attempt; default 30000. */
  RESTServiceRequestTimeoutMilliseconds: number;
  /** Extra attempts after the first; default 0. */
  RESTServiceRetryAttempts: number;
  RESTServiceRetryWaitTimeMilliseconds: number;
  RESTServiceAsync: boolean;
  /** What an async consult yields at once; default `pass.unmodified`. */
  RESTServiceAsyncResultHook: SnapshotHook;
  /** What a failed sync consult runs instead; null = fail closed (503). */
  RESTServiceContingencyHook: SnapshotHook | null;
}

/** A compiled hook, discriminated by `action`. */
export type SnapshotHook =
  | PassUnmodifiedHook
  | RejectHook
  | RespondHook
  | PassModifiedRequestHook
  | PassModifiedResponseHook
  | ConsultHook;
