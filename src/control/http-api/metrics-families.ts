import type { GatewayStatus } from '../gateway-status.js';
import type { ReconcilerHostStatus, ReconcilerState } from '../reconciler-host.js';
import type { ProviderStatus } from '../providers/provider.js';
import type { PolicySummary } from '../../policy/summary.js';
import type { PrometheusText, Sample } from '../../common/prometheus-text.js';

/**
 * The metric families of `GET /_matrix/corporal/metrics`, each written from the same state the
 * status endpoint reports. Pure. Times are Unix seconds, as Prometheus counts them; a family
 * whose value is unknown (no policy yet, no full pass yet) is declared without samples.
 */

const seconds = (epochMs: number): number => epochMs / 1000;
const one = (value: number | null | undefined): Sample[] => (value === null || value === undefined ? [] : [{ value }]);

/** The policy in force and its provider. `policy` is null before the first one. */
export interface PolicyMetricsInput {
  policy: { summary: PolicySummary; loadedAt: number } | null;
  /** When the last refused policy was refused (null: none since one was accepted). */
  lastRejectionAt: number | null;
  provider: ProviderStatus;
}

/** `corporal_policy_*`. */
export function writePolicyMetrics(out: PrometheusText, input: PolicyMetricsInput): void {
  const { policy, provider } = input;
  out.gauge('corporal_policy_generation', 'Generation of the policy in force (absent before the first).', one(policy?.summary.generation));
  out.gauge('corporal_policy_loaded_timestamp_seconds', 'When the policy in force was loaded.', one(policy === null ? null : seconds(policy.loadedAt)));
  out.gauge('corporal_policy_users', 'Users of the policy in force, by state.', policy === null ? [] : [
    { labels: { state: 'active' }, value: policy.summary.users.active },
    { labels: { state: 'inactive' }, value: policy.summary.users.inactive },
  ]);
  out.gauge('corporal_policy_managed_rooms', 'Managed rooms of the policy in force.', one(policy?.summary.managedRooms));
  out.gauge('corporal_policy_last_rejection_timestamp_seconds', 'When the last refused policy was refused (absent once a policy has been accepted since).',
    one(input.lastRejectionAt === null ? null : seconds(input.lastRejectionAt)));
  out.gauge('corporal_policy_provider_last_success_timestamp_seconds', 'When the policy provider last delivered a policy or found it unchanged.',
    one(provider.lastSuccessAt === null ? null : seconds(provider.lastSuccessAt)));
  out.gauge('corporal_policy_provider_failing', '1 while the policy provider\'s last attempt failed (cleared by its next success).', [{ value: provider.lastError === null ? 0 : 1 }]);
}

const RECONCILER_STATES: readonly ReconcilerState[] = ['starting', 'waiting', 'ready', 'stopped'];

/** `corporal_reconciler_*`. */
export function writeReconcilerMetrics(out: PrometheusText, status: ReconcilerHostStatus): void {
  const loop = status.loop;
  const totals = loop?.totals ?? null;
  const lastFull = loop?.lastFullRun ?? null;
  out.gauge('corporal_reconciler_state', 'The reconciler\'s state: 1 for the current one (waiting: its admin session could not be opened yet).',
    RECONCILER_STATES.map((state) => ({ labels: { state }, value: status.state === state ? 1 : 0 })));
  out.gauge('corporal_reconciler_running', '1 while a reconciliation run is in progress.', [{ value: loop?.running === true ? 1 : 0 }]);
  out.counter('corporal_reconciler_runs_total', 'Finished reconciliation runs, by kind (full pass, or some users) and outcome.',
    (totals?.runs ?? []).map((run) => ({ labels: { kind: run.kind, outcome: run.outcome }, value: run.count })));
  out.counter('corporal_reconciler_actions_total', 'Reconciliation actions of finished runs, by result.',
    totals === null ? [] : (['done', 'failed', 'skipped'] as const).map((result) => ({ labels: { result }, value: totals.actions[result] })));
  out.counter('corporal_reconciler_failures_total', 'Failed reconciliation actions (or observations and plans), by action type and error code.',
    (totals?.failures ?? []).map((failure) => ({ labels: { action: failure.actionType, code: failure.code }, value: failure.count })));
  out.gauge('corporal_reconciler_last_full_run_timestamp_seconds', 'When the last full pass that completed or failed finished.',
    one(lastFull?.finishedAt === null || lastFull?.finishedAt === undefined ? null : seconds(lastFull.finishedAt)));
  out.gauge('corporal_reconciler_last_full_run_success', '1 when the last full pass completed without a failed action.',
    one(lastFull === null ? null : lastFull.outcome === 'completed' && lastFull.actionsFailed === 0 ? 1 : 0));
  out.gauge('corporal_reconciler_last_full_run_warnings', 'Plan warnings of the last full pass (reasons Corporal cannot do what the policy asks).', one(lastFull?.warnings.length));
  out.gauge('corporal_reconciler_last_full_run_skipped_rooms', 'Managed rooms the last full pass could not read.', one(lastFull?.skippedRooms.length));
  out.gauge('corporal_reconciler_retries_pending', 'Failed users, rooms or passes waiting for their retry.', [{ value: loop?.retries.length ?? 0 }]);
}

/** `corporal_gateway_*`; `status` null when the supervisor did not answer in time. */
export function writeGatewayMetrics(out: PrometheusText, status: GatewayStatus | null): void {
  out.gauge('corporal_gateway_status_available', '1 when the supervisor reported the gateway threads for this scrape (else their metrics are absent).', [{ value: status === null ? 0 : 1 }]);
  if (status === null) return;
  out.gauge('corporal_gateway_threads', 'Gateway threads, configured and alive (running and listening).', [
    { labels: { state: 'configured' }, value: status.threadsConfigured },
    { labels: { state: 'alive' }, value: status.threadsAlive },
  ]);
  out.gauge('corporal_gateway_policy_generation', 'The lowest policy generation enforced by every live gateway thread.', one(status.snapshotGeneration));
  const { metrics } = status;
  out.counter('corporal_gateway_requests_total', 'Requests served by the gateway, by route id, who answered (homeserver: Synapse; corporal: the gateway itself) and status class.',
    metrics.requests.map((count) => ({ labels: { route: count.route, source: count.source, code: count.code }, value: count.count })));
  out.histogram('corporal_gateway_request_duration_seconds', 'Time from a request\'s arrival to the end of its exchange, by route id and its kind (long_poll: /sync, sliding sync, /events).',
    metrics.durations.map((histogram) => ({ labels: { route: histogram.route, kind: histogram.kind }, bounds: histogram.bounds, counts: histogram.counts, sum: histogram.sum })));
  out.counter('corporal_gateway_aborted_requests_total', 'Requests whose client left before the exchange ended.', [{ value: metrics.abortedRequests }]);
  out.counter('corporal_gateway_cut_requests_total', 'Requests whose connection the gateway cut before the exchange ended.', [{ value: metrics.cutRequests }]);
  out.counter('corporal_gateway_request_body_bytes_total', 'Request body bytes received from clients.', [{ value: metrics.requestBodyBytes }]);
  out.counter('corporal_gateway_response_body_bytes_total', 'Response body bytes sent to clients.', [{ value: metrics.responseBodyBytes }]);
  out.counter('corporal_gateway_token_resolutions_total', 'Access tokens resolved to their user, by how: cached (a hit), shared (joined a whoami in flight), whoami (started one), refused (look-ups at their limit).',
    (['cached', 'shared', 'whoami', 'refused'] as const).map((result) => ({ labels: { result }, value: metrics.tokenResolutions[result] })));
  out.counter('corporal_gateway_hook_consultations_total', 'REST consultations of consult hooks, by result: ok (the service gave a hook) or failed (a contingency hook ran, or the request failed closed).',
    (['ok', 'failed'] as const).map((result) => ({ labels: { result }, value: metrics.hookConsultations[result] })));
  out.counter('corporal_gateway_hook_executions_total', 'Hooks executed (failed ones included), by position (before proxying, or after on the response) and action; a hook a REST service yields counts as well as the consult hook.',
    metrics.hookExecutions.map((count) => ({ labels: { position: count.position, action: count.action }, value: count.count })));
  out.counter('corporal_gateway_hook_failures_total', 'Hooks that could not be executed, so the gateway failed closed (503 unless the client had left), by position and cause (client: what the client sent; other: the policy, a REST service or the response).',
    metrics.hookFailures.map((count) => ({ labels: { position: count.position, cause: count.cause }, value: count.count })));
}
