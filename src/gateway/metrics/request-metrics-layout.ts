import type { GatewayDurationHistogram, GatewayRequestCount, GatewayRequestMetrics } from '../../common/ipc.js';
import type { TokenResolution } from '../identity/identity-cache.js';
import { HOOK_ACTIONS } from '../../policy/vocabulary.js';
import type { HookAction } from '../../policy/snapshot.js';
import type { HookCounters, HookFailureCause, HookPosition } from '../hooks/hook-counters.js';
import { ROUTE_IDS } from '../router/route-ids.js';
import { LOCAL_ROUTE_IDS, UNROUTED_ROUTE_ID } from '../router/route-request.js';
import { isLongPoll } from '../upstream/timeouts.js';

/**
 * Where each request counter of a gateway thread lives in the shared table: one `Float64Array`
 * region per thread, written only by that thread (no atomics needed) and summed by the supervisor
 * when the control child asks (`GET /_matrix/corporal/metrics`). Pure layout, shared by the
 * gateway threads and the supervisor, which build from the same sources.
 */

/** Every route id counted: Synapse's routes, the gateway's own answers, and `unrouted`; any other counts as `other`. */
export const COUNTED_ROUTE_IDS: readonly string[] = Object.freeze([...ROUTE_IDS, ...LOCAL_ROUTE_IDS, UNROUTED_ROUTE_ID]);

const ROUTE_INDEX: ReadonlyMap<string, number> = new Map(COUNTED_ROUTE_IDS.map((id, i) => [id, i]));
const OTHER_ROUTE = ROUTE_INDEX.get('other') ?? 0;

/** Who answered: index 0 the gateway itself, 1 Synapse. */
const SOURCES = ['corporal', 'homeserver'] as const;
/** Status classes, by `Math.floor(status / 100)` (0: no status sent). */
const CODES = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** Upper bounds (seconds) of the duration histograms. */
export const DURATION_BOUNDS_SECONDS: readonly number[] = Object.freeze([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]);

const REQUESTS_AT = 0;
const REQUEST_SLOTS = COUNTED_ROUTE_IDS.length * SOURCES.length * CODES.length;
/**
 * Per route: one count per bound, one above the last, then the sum. A route's kind (long-poll or
 * not) is a function of its id, so it needs no slots of its own: the summary labels it.
 */
const HISTOGRAM_SLOTS = DURATION_BOUNDS_SECONDS.length + 2;
const DURATIONS_AT = REQUESTS_AT + REQUEST_SLOTS;
const ABORTED_AT = DURATIONS_AT + COUNTED_ROUTE_IDS.length * HISTOGRAM_SLOTS;
/** Exchanges the gateway cut itself (`ClientExchange.cut`). */
const CUT_AT = ABORTED_AT + 1;
const BYTES_IN_AT = CUT_AT + 1;
const BYTES_OUT_AT = BYTES_IN_AT + 1;
const RESOLUTIONS: readonly TokenResolution[] = ['cached', 'shared', 'whoami', 'refused'];
const RESOLUTION_INDEX: Readonly<Record<TokenResolution, number>> = { cached: 0, shared: 1, whoami: 2, refused: 3 };
const RESOLUTIONS_AT = BYTES_OUT_AT + 1;
/** Hook consultations: those that got a hook, then those that failed. */
const CONSULTATIONS_AT = RESOLUTIONS_AT + RESOLUTIONS.length;
const POSITIONS: readonly HookPosition[] = ['before', 'after'];
const POSITION_INDEX: Readonly<Record<HookPosition, number>> = { before: 0, after: 1 };
/** A record, so that the compiler checks every action has its slot. */
const ACTION_INDEX: Readonly<Record<HookAction, number>> = {
  'pass.unmodified': 0, 'pass.modifiedRequest': 1, 'pass.modifiedResponse': 2, reject: 3, respond: 4, 'consult.RESTServiceURL': 5,
};
const FAILURE_CAUSES: readonly HookFailureCause[] = ['client', 'other'];
const CAUSE_INDEX: Readonly<Record<HookFailureCause, number>> = { client: 0, other: 1 };
/** Hook executions, by position then action. */
const EXECUTIONS_AT = CONSULTATIONS_AT + 2;
/** Hooks that could not be executed, by position then cause. */
const HOOK_FAILURES_AT = EXECUTIONS_AT + POSITIONS.length * HOOK_ACTIONS.length;
/** Counters in one thread's region. */
const REGION_SLOTS = HOOK_FAILURES_AT + POSITIONS.length * FAILURE_CAUSES.length;

/** A table for `threads` gateway threads, all counters at zero. */
export function createRequestMetricsTable(threads: number): SharedArrayBuffer {
  return new SharedArrayBuffer(threads * REGION_SLOTS * Float64Array.BYTES_PER_ELEMENT);
}

/** Thread `threadIndex`'s (1-based) region of `table`. */
export function threadRegion(table: SharedArrayBuffer, threadIndex: number): Float64Array {
  return new Float64Array(table, (threadIndex - 1) * REGION_SLOTS * Float64Array.BYTES_PER_ELEMENT, REGION_SLOTS);
}

/** One finished request, as {@link countRequest} records it. */
export interface FinishedRequest {
  routeId: string;
  /** The status of the head written to the client (0: none). */
  status: number;
  /** Whether the head written was Synapse's, relayed (else the gateway answered, or nobody did: `ClientExchange.relayed`). */
  fromHomeserver: boolean;
  durationSeconds: number;
  /** The client left before the response was complete (not a connection the gateway cut). */
  aborted: boolean;
  /** The gateway cut the connection before the response was complete (`ClientExchange.cut`). */
  cut: boolean;
  bytesIn: number;
  bytesOut: number;
}

/** Adds one finished request to a thread's region. A handful of additions: it runs on every request. */
export function countRequest(region: Float64Array, request: FinishedRequest): void {
  const route = ROUTE_INDEX.get(request.routeId) ?? OTHER_ROUTE;
  const codeClass = request.status >= 100 && request.status < 600 ? Math.floor(request.status / 100) : 0;
  region[REQUESTS_AT + (route * SOURCES.length + (request.fromHomeserver ? 1 : 0)) * CODES.length + codeClass]! += 1;
  const histogram = DURATIONS_AT + route * HISTOGRAM_SLOTS;
  let bucket = 0;
  while (bucket < DURATION_BOUNDS_SECONDS.length && request.durationSeconds > DURATION_BOUNDS_SECONDS[bucket]!) bucket++;
  region[histogram + bucket]! += 1;
  region[histogram + HISTOGRAM_SLOTS - 1]! += request.durationSeconds;
  if (request.aborted) region[ABORTED_AT]! += 1;
  if (request.cut) region[CUT_AT]! += 1;
  region[BYTES_IN_AT]! += request.bytesIn;
  region[BYTES_OUT_AT]! += request.bytesOut;
}

/** Counts one token resolution of the thread's identity cache (`IdentityCacheOptions.onResolution`). */
export function countTokenResolution(region: Float64Array, resolution: TokenResolution): void {
  region[RESOLUTIONS_AT + RESOLUTION_INDEX[resolution]]! += 1;
}

/** The {@link HookCounters} of a thread's hook engine, counting into its region. */
export function hookCountersFor(region: Float64Array): HookCounters {
  return {
    consulted: (ok) => {
      region[CONSULTATIONS_AT + (ok ? 0 : 1)]! += 1;
    },
    executed: (position, action) => {
      region[EXECUTIONS_AT + POSITION_INDEX[position] * HOOK_ACTIONS.length + ACTION_INDEX[action]]! += 1;
    },
    failed: (position, cause) => {
      region[HOOK_FAILURES_AT + POSITION_INDEX[position] * FAILURE_CAUSES.length + CAUSE_INDEX[cause]]! += 1;
    },
  };
}

/** The counters of the first `threads` regions of `table`, summed and labelled. */
export function summariseRequestMetrics(table: SharedArrayBuffer, threads: number): GatewayRequestMetrics {
  const total = new Float64Array(REGION_SLOTS);
  for (let thread = 1; thread <= threads; thread++) {
    const region = threadRegion(table, thread);
    for (let i = 0; i < REGION_SLOTS; i++) total[i]! += region[i]!;
  }
  const requests: GatewayRequestCount[] = [];
  COUNTED_ROUTE_IDS.forEach((route, routeIndex) => {
    SOURCES.forEach((source, sourceIndex) => {
      CODES.forEach((code, codeIndex) => {
        const count = total[REQUESTS_AT + (routeIndex * SOURCES.length + sourceIndex) * CODES.length + codeIndex]!;
        if (count > 0) requests.push({ route, source, code, count });
      });
    });
  });
  const durations: GatewayDurationHistogram[] = [];
  COUNTED_ROUTE_IDS.forEach((route, routeIndex) => {
    const at = DURATIONS_AT + routeIndex * HISTOGRAM_SLOTS;
    const counts = Array.from(total.subarray(at, at + HISTOGRAM_SLOTS - 1));
    if (counts.some((count) => count > 0)) {
      durations.push({ route, kind: isLongPoll(route) ? 'long_poll' : 'request', bounds: [...DURATION_BOUNDS_SECONDS], counts, sum: total[at + HISTOGRAM_SLOTS - 1]! });
    }
  });
  const tokenResolutions = Object.fromEntries(RESOLUTIONS.map((resolution, i) => [resolution, total[RESOLUTIONS_AT + i]!])) as Record<TokenResolution, number>;
  const hookConsultations = { ok: total[CONSULTATIONS_AT]!, failed: total[CONSULTATIONS_AT + 1]! };
  const hookExecutions = POSITIONS.flatMap((position) =>
    HOOK_ACTIONS.map((action) => ({ position, action, count: total[EXECUTIONS_AT + POSITION_INDEX[position] * HOOK_ACTIONS.length + ACTION_INDEX[action]]! })));
  const hookFailures = POSITIONS.flatMap((position) =>
    FAILURE_CAUSES.map((cause) => ({ position, cause, count: total[HOOK_FAILURES_AT + POSITION_INDEX[position] * FAILURE_CAUSES.length + CAUSE_INDEX[cause]]! })));
  return { requests, durations, abortedRequests: total[ABORTED_AT]!, cutRequests: total[CUT_AT]!, requestBodyBytes: total[BYTES_IN_AT]!, responseBodyBytes: total[BYTES_OUT_AT]!, tokenResolutions, hookConsultations, hookExecutions, hookFailures };
}
