import type { CorporalConfig } from './config/types.js';

/**
 * Messages between the supervisor (main thread), the gateway threads (`postMessage`) and the
 * control child (`process.send`, `serialization: 'advanced'`).
 *
 * Every message carries `v` (the protocol version) and a `type`; receivers check both with the
 * guards below and ignore anything else, so a mismatched build can never be misread.
 */
export const IPC_VERSION = 1 as const;

interface Envelope<T extends string> {
  v: typeof IPC_VERSION;
  type: T;
}

/**
 * A compiled policy in its packed form (`policy/transport.ts` `encodeSnapshot`): one byte array
 * instead of Maps of objects, because structured-cloning a large snapshot costs seconds per hop and
 * a full copy per thread. The supervisor copies the bytes once into a SharedArrayBuffer that every
 * gateway thread reads in place (`decodeSnapshot`).
 */
export interface EncodedSnapshot {
  generation: number;
  hash: string;
  bytes: Uint8Array;
}

/** A new compiled policy. Receivers swap it in only if its generation is higher than theirs. */
export interface PolicySnapshotMessage extends Envelope<'policy.snapshot'> {
  snapshot: EncodedSnapshot;
}

/**
 * What the supervisor keeps of the policy in force besides its snapshot, so that a restarted control
 * child keeps that policy in force instead of reverting to the provider's (docs/policy-providers.md,
 * "Control-child restarts"). Holds credentials when `pushedText` is set: never logged.
 */
export interface RetainedPolicy {
  /**
   * The policy's text as UTF-8 when it was pushed through the API (at most the policy size bound);
   * null when a provider delivered it, since the provider loads it again.
   */
  pushedText: Uint8Array | null;
  /** Its source label (`api`, `static_file:/path`, …). */
  source: string;
  /** Content hash of the last valid policy the provider delivered (null: none yet). */
  providerHash: string | null;
}

/**
 * A policy the control child accepted: its snapshot (relayed to the gateway threads as
 * {@link PolicySnapshotMessage}) and what the supervisor retains for a restarted child.
 */
export interface PolicyAcceptedMessage extends Envelope<'policy.accepted'> {
  snapshot: EncodedSnapshot;
  retained: RetainedPolicy;
}

/** The snapshot the supervisor holds, with what it retained: handed to every (re)started control child. */
export interface InheritedPolicy extends RetainedPolicy {
  generation: number;
  hash: string;
}

/**
 * Drop cached token → user mappings in every gateway thread: the listed tokens, and/or every token
 * of `userId` (after `/logout/all`).
 */
export interface IdentityEvictMessage extends Envelope<'identity.evict'> {
  tokens: string[];
  userId: string | null;
}

// ---- supervisor → control child -------------------------------------------------------------

/** First message to a (re)started control child. */
export interface ControlInitMessage extends Envelope<'control.init'> {
  config: CorporalConfig;
  configPath: string;
  /**
   * The snapshot the supervisor holds (null before the first): a restarted child continues its
   * generations above it, so gateway threads never see one go backwards, and restores a pushed
   * policy from it (see {@link RetainedPolicy}).
   */
  inherited: InheritedPolicy | null;
}

/** Stop: close listeners and providers, finish or abandon the current action, exit 0. */
export interface ControlShutdownMessage extends Envelope<'control.shutdown'> {}

/** One gateway thread as the supervisor sees it. */
export interface GatewayThreadState {
  /** 1-based thread number. */
  index: number;
  /** Running and listening. */
  alive: boolean;
  /** Generation of the snapshot it enforces (null: none yet, or not running). */
  generation: number | null;
  /** Restarts since its last stable run. */
  restarts: number;
}

/** One series of {@link GatewayRequestMetrics.requests}. */
export interface GatewayRequestCount {
  /** The route id (`room.send`, `sync`, `other`, …, and the gateway's own: `options`, `info`, …). */
  route: string;
  /**
   * Who produced the answer the client got: `homeserver` when Synapse's was relayed (an after-hook
   * may have changed its body), `corporal` when the gateway's own was sent (a refusal, a hook's
   * reply, a 502/504, …) or none.
   */
  source: 'corporal' | 'homeserver';
  /** `1xx` … `5xx`, or `none` when no status was sent (the client left first, or the gateway cut the stream before its head). */
  code: string;
  count: number;
}

/** One series of {@link GatewayRequestMetrics.durations}: a histogram of one route's request durations. */
export interface GatewayDurationHistogram {
  /** The route id, as in {@link GatewayRequestCount.route}. */
  route: string;
  /** The route's kind: `long_poll` (`/sync`, sliding sync, `/events`: they last as long as the client asks) or `request`. */
  kind: 'long_poll' | 'request';
  /** Upper bounds in seconds, ascending, without `+Inf`. */
  bounds: number[];
  /** Requests per bucket, not cumulative: one per bound, then those above the last. */
  counts: number[];
  /** Sum of the durations, in seconds. */
  sum: number;
}

/**
 * What the gateway threads have served since the supervisor started, summed over every thread
 * (a restarted thread goes on counting where it left off): for `GET /_matrix/corporal/metrics`.
 */
export interface GatewayRequestMetrics {
  /** Non-zero counts only. */
  requests: GatewayRequestCount[];
  /** One per route that counted a request. */
  durations: GatewayDurationHistogram[];
  /** Requests whose client left before the exchange ended. */
  abortedRequests: number;
  /** Requests whose connection the gateway cut before the exchange ended (a stream that could not complete, the drain deadline). */
  cutRequests: number;
  /** Request body bytes received from clients. */
  requestBodyBytes: number;
  /** Response body bytes sent to clients. */
  responseBodyBytes: number;
  /**
   * How the token cache resolved tokens: `cached` (a hit), `shared` (joined a look-up in flight),
   * `whoami` (a look-up started), `refused` (look-ups at their limit).
   */
  tokenResolutions: { cached: number; shared: number; whoami: number; refused: number };
  /** REST consultations of hooks: those that got a hook from the service, and those that failed. */
  hookConsultations: { ok: number; failed: number };
  /** Hooks executed, by position and action (every pair, zeros included). */
  hookExecutions: GatewayHookExecutionCount[];
  /** Hooks that could not be executed (the gateway failed closed), by position and cause (every pair, zeros included). */
  hookFailures: GatewayHookFailureCount[];
}

/** One counter of {@link GatewayRequestMetrics.hookFailures}. */
export interface GatewayHookFailureCount {
  position: 'before' | 'after';
  /** `client`: what the client sent made the hook fail; `other`: the policy, a REST service or Synapse's response (`HookFailureCause`). */
  cause: 'client' | 'other';
  count: number;
}

/** One counter of {@link GatewayRequestMetrics.hookExecutions}. */
export interface GatewayHookExecutionCount {
  position: 'before' | 'after';
  /** The hook's action (`HookAction`). */
  action: string;
  count: number;
}

/** Answer to {@link GatewayStatusRequestMessage}. */
export interface GatewayStatusResponseMessage extends Envelope<'gateway.status.response'> {
  requestId: number;
  threadsAlive: number;
  threadsConfigured: number;
  /** The lowest generation applied by all live threads (null if one has none). */
  snapshotGeneration: number | null;
  threads: GatewayThreadState[];
  /** The threads' request counters (left out of `/status`, shown by `/metrics`). */
  metrics: GatewayRequestMetrics;
}

/**
 * A gateway thread could not finish checking a room creation that did not complete (the user's
 * token was logged out meanwhile, or its repair queue was full): the control child repairs it
 * through the admin API (common/half-created-room-repair.ts). Relayed by the supervisor. Carries no
 * token.
 */
export interface RoomsRepairMessage extends Envelope<'rooms.repair'> {
  userId: string;
  /** The user's joined rooms before the request. */
  roomsBefore: string[];
  /** When the request was forwarded (ms since the epoch). */
  startedAt: number;
  /** Waits before each look, from receipt (ms). */
  passDelaysMs: number[];
}

/** Everything the supervisor sends to the control child. */
export type SupervisorToControl = ControlInitMessage | ControlShutdownMessage | GatewayStatusResponseMessage | RoomsRepairMessage;

// ---- control child → supervisor -------------------------------------------------------------

/** The child finished starting (its HTTP API listens, providers started). */
export interface ControlReadyMessage extends Envelope<'control.ready'> {}

/** The child wants the gateway threads' state (for `GET /_matrix/corporal/status`). */
export interface GatewayStatusRequestMessage extends Envelope<'gateway.status.request'> {
  requestId: number;
}

/** Everything the control child sends to the supervisor. */
export type ControlToSupervisor =
  | ControlReadyMessage
  | PolicyAcceptedMessage
  | IdentityEvictMessage
  | GatewayStatusRequestMessage;

// ---- supervisor → gateway thread ------------------------------------------------------------

/** Stop accepting, finish in-flight requests until `deadline` (epoch ms), then close and exit. */
export interface GatewayDrainMessage extends Envelope<'gateway.drain'> {
  deadline: number;
}

/** Everything the supervisor sends to a gateway thread. */
/**
 * A `rest` auth service refused a (user, URL, password) combination that a gateway thread's
 * fallback cache may hold: every thread drops it (`offload/rest-auth-cache.ts`). `key` is the
 * cache key, a SHA-256 digest that includes the password: never logged.
 */
export interface RestAuthForgetMessage extends Envelope<'rest-auth.forget'> {
  key: string;
}

/** Every message the supervisor sends a gateway thread. */
export type SupervisorToGateway = PolicySnapshotMessage | IdentityEvictMessage | RestAuthForgetMessage | GatewayDrainMessage;

// ---- gateway thread → supervisor ------------------------------------------------------------

/** The thread's uWS app listens. */
export interface GatewayListeningMessage extends Envelope<'gateway.listening'> {
  port: number;
}

/** The thread could not listen (the address is taken, …); the supervisor treats this as fatal. */
export interface GatewayListenFailedMessage extends Envelope<'gateway.listen-failed'> {
  address: string;
}

/** The thread swapped in a snapshot. */
export interface GatewayPolicyAppliedMessage extends Envelope<'gateway.policy-applied'> {
  generation: number;
}

/** Everything a gateway thread sends to the supervisor. */
export type GatewayToSupervisor =
  | GatewayListeningMessage
  | GatewayListenFailedMessage
  | GatewayPolicyAppliedMessage
  | IdentityEvictMessage
  | RestAuthForgetMessage
  | RoomsRepairMessage;

/** Data a gateway thread is started with (`workerData`). */
export interface GatewayWorkerData {
  config: CorporalConfig;
  /** 1-based thread number, for logs. */
  threadIndex: number;
  /** The last good snapshot, so a (re)started thread enforces policy at once. */
  snapshot: EncodedSnapshot | null;
  /**
   * The internal REST auth endpoint's wrong-password counts, one table for all threads (a
   * restarted thread gets the same one): gateway/internal-auth/failed-attempts.ts.
   */
  failedAttempts: SharedArrayBuffer;
  /**
   * The request counters of every thread, each in its own region (`gateway/metrics/`): a thread
   * writes only its own, the supervisor reads them all; a restarted thread gets the same region.
   */
  requestMetrics: SharedArrayBuffer;
}

/** A message of union `M` without its version field (distributes over the union). */
export type Unversioned<M> = M extends unknown ? Omit<M, 'v'> : never;

/** Adds the current protocol version to a message. */
export function ipcMessage<M extends { v: typeof IPC_VERSION }>(message: Unversioned<M>): M {
  return { v: IPC_VERSION, ...message } as unknown as M;
}

/**
 * The message types a receiver accepts, listed from a record that must name every type of its
 * union `T` (call with `T` explicit): the compiler refuses a record that leaves one out, so a new
 * message type cannot be dropped silently by a receiver's filter (mutation review 18: removing
 * `rest-auth.forget` from a filter went unnoticed).
 */
export function allMessageTypes<T extends string>(types: Record<T, true>): readonly T[] {
  return Object.freeze(Object.keys(types) as T[]);
}

/** True when `value` is an envelope of this protocol version whose type is one of `types`. */
export function isIpcMessage<T extends string>(value: unknown, types: readonly T[]): value is Envelope<T> {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { v?: unknown; type?: unknown };
  return candidate.v === IPC_VERSION && typeof candidate.type === 'string' && (types as readonly string[]).includes(candidate.type);
}
