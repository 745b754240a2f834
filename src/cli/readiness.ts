/**
 * What the readiness check (`healthcheck.js --ready`) makes of the HTTP API's
 * `GET /_matrix/corporal/status` answer (docs/http-api.md): Corporal is ready to take traffic when
 * a policy is loaded, every configured gateway thread is alive and enforces a policy, and the
 * reconciler has its admin session on Synapse. Pure: no I/O, so every verdict is unit-tested.
 */

import { summariseErrors, type PolicyIssue } from '../policy/issues.js';
import { isJsonObject } from '../common/json-object.js';

/** The HTTP API's status route (`statusRoute`; not imported, to keep the API server out of this script). */
export const STATUS_PATH = '/_matrix/corporal/status';
/**
 * The most status bytes the check reads. The status route shows at most 100 entries of each list
 * (failures, warnings, retries, policy issues: `STATUS_LIST_LIMIT`), so its answer stays within
 * some tens of KiB however large the policy or however badly the last run went.
 */
export const STATUS_BODY_LIMIT_BYTES = 1024 * 1024;

/** Result of {@link readinessOf}: a one-line summary when ready, else every reason it is not (at least one). */
export type Readiness = { ready: true; summary: string } | { ready: false; reasons: string[] };

type Json = Record<string, unknown>;

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;

/**
 * Judges a parsed status body. Not ready, with one reason each, when:
 * - `policy` is null (no policy yet: the gateway answers every request it would proxy with 503),
 *   with why when the status tells it (the last refusal, or the provider's last error);
 * - `gateway` is `{error}` (the supervisor did not answer), fewer threads are alive than
 *   configured, or (a policy being loaded) a live thread enforces none yet (`snapshotGeneration`
 *   null);
 * - `reconciler.state` is anything but `ready`: `waiting` (opening the admin session failed, a retry
 *   is scheduled), `starting` (an attempt is under way: the first, or a retry, which alternates
 *   with `waiting` while Synapse is down), `stopped` (shutting down).
 * A field missing or of the wrong type is a reason too (an answer this check does not understand
 * proves nothing). The reasons never quote more than the status does, which holds no credentials.
 */
export function readinessOf(body: unknown): Readiness {
  if (!isJsonObject(body)) return { ready: false, reasons: ['the status answer is not a JSON object'] };
  const policy = policyReason(body['policy'], body);
  const reasons = [policy.reason, gatewayReason(body['gateway'], policy.reason === null), reconcilerReason(body['reconciler'])]
    .filter((reason): reason is string => reason !== null);
  if (reasons.length > 0) return { ready: false, reasons };
  const gateway = body['gateway'] as Json;
  return {
    ready: true,
    summary: `policy generation ${policy.generation}, ${gateway['threadsAlive']}/${gateway['threadsConfigured']} gateway threads alive, reconciler ready`,
  };
}

function policyReason(policy: unknown, body: Json): { reason: string | null; generation?: number } {
  if (policy === null) return { reason: `no policy loaded yet${whyNoPolicy(body)}` };
  if (!isJsonObject(policy) || !isCount(policy['generation'])) return { reason: 'status.policy is not understood' };
  return { reason: null, generation: policy['generation'] };
}

/**
 * Why no policy is loaded, as the status tells it: the last policy refused (its first error and
 * how many there were, as the store itself describes a refusal), else the provider's last error (a
 * missing file, a failed fetch); `''` when it tells neither (no policy pushed yet to
 * `last_seen_store_policy`). One line.
 */
function whyNoPolicy(body: Json): string {
  const rejection = body['lastRejection'];
  const first = isJsonObject(rejection) && Array.isArray(rejection['errors']) ? asIssue(rejection['errors'][0]) : null;
  if (isJsonObject(rejection) && first !== null) {
    const count = isCount(rejection['errorCount']) ? rejection['errorCount'] : (rejection['errors'] as unknown[]).length;
    return oneLine(` (the last policy was refused: ${summariseErrors([first], count)})`);
  }
  const provider = body['provider'];
  const error = isJsonObject(provider) && isJsonObject(provider['lastError']) ? provider['lastError']['message'] : undefined;
  return typeof error === 'string' ? oneLine(` (${error})`) : '';
}

const oneLine = (text: string): string => text.replace(/\s+/g, ' ');

/** A status `lastRejection.errors` entry as a {@link PolicyIssue}, or `null` when it is not one. */
function asIssue(value: unknown): PolicyIssue | null {
  if (!isJsonObject(value) || typeof value['message'] !== 'string') return null;
  const { pointer, message, line, column } = value;
  return {
    pointer: typeof pointer === 'string' ? pointer : '',
    message,
    ...(isCount(line) ? { line } : {}),
    ...(isCount(column) ? { column } : {}),
  };
}

function gatewayReason(gateway: unknown, policyLoaded: boolean): string | null {
  if (!isJsonObject(gateway)) return 'status.gateway is not understood';
  if (typeof gateway['error'] === 'string') return `gateway threads unknown: ${gateway['error']}`;
  const { threadsAlive: alive, threadsConfigured: configured, snapshotGeneration: generation } = gateway;
  if (!isCount(alive) || !isCount(configured) || !(generation === null || isCount(generation))) return 'status.gateway is not understood';
  if (configured === 0 || alive < configured) return `${alive}/${configured} gateway threads alive`;
  // Without a policy no thread can have one: that reason is already given.
  if (generation === null && policyLoaded) return 'a gateway thread enforces no policy yet';
  return null;
}

function reconcilerReason(reconciler: unknown): string | null {
  if (!isJsonObject(reconciler) || typeof reconciler['state'] !== 'string') return 'status.reconciler is not understood';
  const { state, failedAttempts, lastError, nextAttemptAt } = reconciler;
  // One line of output: an error message may span several (a stack, a quoted body).
  const error = isJsonObject(lastError) && typeof lastError['message'] === 'string' ? oneLine(lastError['message']) : null;
  const attempts = isCount(failedAttempts) ? failedAttempts : 0;
  const failed = `${attempts} failed attempt${attempts === 1 ? '' : 's'}`;
  switch (state) {
    case 'ready':
      return null;
    case 'waiting':
      return `reconciler waiting: ${error ?? 'the admin session could not be opened'}`
        + ` (${failed}${typeof nextAttemptAt === 'string' ? `, next at ${nextAttemptAt}` : ''})`;
    case 'starting':
      return attempts === 0
        ? 'reconciler starting: the admin session is being opened'
        : `reconciler starting: retrying the admin session after ${failed} (last: ${error ?? 'unknown'})`;
    case 'stopped':
      return 'reconciler stopped (Corporal is shutting down)';
    default:
      return `reconciler state ${JSON.stringify(state)} is not understood`;
  }
}
