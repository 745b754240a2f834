import type { HookEventType, PolicyFlags, SnapshotUser } from './snapshot.js';
import type { HookAction, MatchRuleType } from './vocabulary.js';

/**
 * The canonical policy document: what {@link normalisePolicy} produces (schema 2 shape, canonical
 * key spelling, every defaulted field filled in) and what validation, hashing and compilation read.
 * The types hold only once `validatePolicy` reported no errors; before that a leaf may still carry
 * whatever JSON the author wrote, so that validation can point at it.
 */
export interface PolicyDocument {
  /** Always 2 after normalisation; the version the author wrote is in the normalisation metadata. */
  schemaVersion: 2;
  /** Opaque tag for humans; `null` when absent. */
  identificationStamp: string | null;
  flags: PolicyFlags;
  managedRoomIds: string[];
  hooks: PolicyHook[];
  users: PolicyUser[];
}

/**
 * One managed user (matrix-corporal's `UserPolicy`): the fields of {@link SnapshotUser}, with the
 * required rooms as the list the author wrote. `powerLevelsManaged` is not an input key: it is
 * false when the user was written in schema 1 (`joinedRoomIds`), which has no power levels.
 */
export interface PolicyUser extends Omit<SnapshotUser, 'joinedRooms'> {
  joinedRooms: PolicyJoinedRoom[];
}

/** A room the user must be in, with the power level they must have there (default 0). */
export interface PolicyJoinedRoom {
  roomId: string;
  powerLevel: number;
}

/** A hook match rule: `regex` (Go RE2 syntax) tested against the value `type` names. */
export interface PolicyMatchRule {
  type: MatchRuleType;
  regex: string;
  invert: boolean;
}

/**
 * The fields every hook has, nested ones included (matrix-corporal's `Hook` without `eventType`).
 * Action-specific fields are present only when the author gave them (defaults apply at compile).
 */
export interface PolicyHookBody {
  id: string;
  matchRules: PolicyMatchRule[];
  action: HookAction;
  skipNextHooksInChain: boolean;
  RESTServiceURL?: string;
  RESTServiceRequestMethod?: string;
  RESTServiceRequestHeaders?: Record<string, string>;
  RESTServiceRequestTimeoutMilliseconds?: number;
  RESTServiceRetryAttempts?: number;
  RESTServiceRetryWaitTimeMilliseconds?: number;
  RESTServiceAsync: boolean;
  RESTServiceAsyncResultHook?: PolicyHookBody;
  RESTServiceContingencyHook?: PolicyHookBody;
  responsePayload?: unknown;
  responseSkipPayloadJSONSerialization: boolean;
  responseStatusCode?: number;
  responseContentType?: string;
  rejectionErrorCode?: string;
  rejectionErrorMessage?: string;
  injectJSONIntoRequest?: Record<string, unknown>;
  injectHeadersIntoRequest?: Record<string, string>;
  injectJSONIntoResponse?: Record<string, unknown>;
  injectHeadersIntoResponse?: Record<string, string>;
}

/** A top-level hook: a body plus the event type it runs at. */
export interface PolicyHook extends PolicyHookBody {
  eventType: HookEventType;
}
