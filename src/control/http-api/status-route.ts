import { describeError } from '../../common/errors.js';
import { summarisePolicy } from '../../policy/summary.js';
import type { GatewayStatus } from '../gateway-status.js';
import type { RunFailure, RunSummary } from '../loop/run-summary.js';
import type { ReconcilerHostStatus } from '../reconciler-host.js';
import type { PolicyStore } from '../policy-store.js';
import type { PolicyProvider } from '../providers/provider.js';
import { SMALL_BODY_BYTES, type ApiResponse, type Route } from './route.js';

/** What `GET /_matrix/corporal/status` reports on. */
export interface StatusRouteOptions {
  store: PolicyStore;
  provider: PolicyProvider;
  /** Asks the supervisor about the gateway threads; may reject (no answer in time). */
  gatewayStatus: () => Promise<GatewayStatus>;
  /** The reconciler's state (admin session, run in progress, last run, retries). */
  reconcilerStatus?: () => ReconcilerHostStatus;
}

const iso = (epochMs: number | null): string | null => (epochMs === null ? null : new Date(epochMs).toISOString());

/**
 * Entries of each list the status shows at most (failures, warnings, skipped rooms, retries, policy
 * issues); the rest are counted in `<list>Omitted`, present only when some were left out. A run
 * that fails for every user of a large policy would otherwise make this answer tens of MiB, and
 * monitors (the readiness check among them) poll it; the counters (`actionsFailed`, …) stay exact.
 */
export const STATUS_LIST_LIMIT = 100;

/**
 * `body` with each of its `lists` cut to {@link STATUS_LIST_LIMIT} entries and `<list>Omitted` added
 * right after the list where cut (key order is what a reader of the raw JSON sees).
 */
function withCappedLists<T extends object>(body: T, lists: ReadonlyArray<keyof T & string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(body)) {
    const capped = (lists as readonly string[]).includes(name) && Array.isArray(value) && value.length > STATUS_LIST_LIMIT;
    out[name] = capped ? value.slice(0, STATUS_LIST_LIMIT) : value;
    if (capped) out[`${name}Omitted`] = value.length - STATUS_LIST_LIMIT;
  }
  return out;
}

/**
 * How many failures of a run each error code had, over the whole list (not only the entries the
 * status shows): tells "all of it is the outage" from "something else failed too" at a glance.
 */
function failuresByCode(failures: readonly RunFailure[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const failure of failures) counts[failure.code] = (counts[failure.code] ?? 0) + 1;
  return counts;
}

/**
 * `GET /_matrix/corporal/status` (Corporal only; matrix-corporal had no status endpoint): the policy
 * in force (generation, hash, source, load time, counts — never credentials), the last refused
 * policy with every issue, the provider's last success and error, the gateway threads (alive /
 * configured, and the generation each one enforces) and the reconciler (whether its admin session
 * is open, the run in progress, the last run and the last full pass, pending retries soonest first).
 * Times are ISO 8601 strings.
 */
export function statusRoute(options: StatusRouteOptions): Route {
  return {
    pattern: '/_matrix/corporal/status',
    methods: { GET: { id: 'status.get', maxBodyBytes: SMALL_BODY_BYTES, handle: () => status(options) } },
  };
}

async function status(options: StatusRouteOptions): Promise<ApiResponse> {
  const { store, provider } = options;
  let gateway: unknown;
  try {
    // The request counters are for `/metrics`: hundreds of series that a status reader does not need.
    const { metrics: _metrics, ...threads } = await options.gatewayStatus();
    gateway = threads;
  } catch (err) {
    gateway = { error: describeError(err) };
  }
  const current = store.current;
  const rejection = store.lastRejection;
  const providerStatus = provider.status();
  return {
    status: 200,
    body: {
      policy: current === null ? null : {
        generation: current.generation,
        hash: current.hash,
        source: current.source,
        loadedAt: iso(current.loadedAt),
        identificationStamp: current.document.identificationStamp,
        ...withCappedLists({ warnings: current.warnings }, ['warnings']),
        summary: summarisePolicy(current.snapshot),
      },
      lastRejection: rejection === null ? null : withCappedLists({ ...rejection, at: iso(rejection.at) }, ['errors', 'warnings']),
      provider: {
        type: providerStatus.type,
        lastSuccessAt: iso(providerStatus.lastSuccessAt),
        lastError: providerStatus.lastError === null ? null : { ...providerStatus.lastError, at: iso(providerStatus.lastError.at) },
      },
      gateway,
      reconciler: options.reconcilerStatus === undefined ? null : reconcilerBody(options.reconcilerStatus()),
    },
  };
}

function reconcilerBody(status: ReconcilerHostStatus): Record<string, unknown> {
  const { loop } = status;
  const run = (summary: RunSummary | null) => {
    if (summary === null) return null;
    const shown: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(summary)) {
      if (key === 'failures') shown['failuresByCode'] = failuresByCode(summary.failures);
      shown[key] = value;
    }
    shown['startedAt'] = iso(summary.startedAt);
    shown['finishedAt'] = iso(summary.finishedAt);
    return withCappedLists(shown, ['failures', 'warnings', 'skippedRooms']);
  };
  // Soonest first, so that the capped list shows what happens next.
  const retries = [...(loop?.retries ?? [])].sort((a, b) => a.dueAt - b.dueAt).map((retry) => ({ ...retry, dueAt: iso(retry.dueAt) }));
  return {
    state: status.state,
    readyAt: iso(status.readyAt),
    failedAttempts: status.failedAttempts,
    lastError: status.lastError === null ? null : { ...status.lastError, at: iso(status.lastError.at) },
    nextAttemptAt: iso(status.nextAttemptAt),
    running: loop?.running ?? false,
    policyGeneration: loop?.policyGeneration ?? null,
    current: run(loop?.current ?? null),
    lastRun: run(loop?.lastRun ?? null),
    lastFullRun: run(loop?.lastFullRun ?? null),
    nextResyncAt: iso(loop?.nextResyncAt ?? null),
    ...withCappedLists({ retries }, ['retries']),
  };
}
