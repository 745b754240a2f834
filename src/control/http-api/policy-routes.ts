import type { Logger } from '../../common/logger.js';
import { describeError } from '../../common/errors.js';
import { ErrCode } from '../../common/matrix-errors.js';
import { parsePolicyText } from '../../policy/parse.js';
import type { PolicyDocument } from '../../policy/types.js';
import { API_POLICY_SOURCE, describeRejection, type PolicyStore } from '../policy-store.js';
import { MAX_POLICY_BYTES } from '../policy-limits.js';
import type { PolicyProvider } from '../providers/provider.js';
import { apiError } from './api-server.js';
import { SMALL_BODY_BYTES, type ApiRequest, type ApiResponse, type Route } from './route.js';

/** What the policy endpoints need. */
export interface PolicyRoutesOptions {
  store: PolicyStore;
  provider: PolicyProvider;
  logger: Logger;
  /** Largest `PUT /policy` body. Default {@link MAX_POLICY_BYTES}. */
  maxPolicyBytes?: number;
  /**
   * Requests a full reconciliation pass (after the one in progress); a no-op while the reconciler
   * is not ready (it starts with a full pass). Called when an operator re-sends or reloads a policy
   * that turns out unchanged: matrix-corporal reconciled on every delivery, and "PUT the same
   * policy again" or "reload the provider" is its documented way to force a run (parity review 18,
   * P3). A changed policy starts its own pass.
   */
  requestFullPass?: () => void;
}

export { API_POLICY_SOURCE };

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * matrix-corporal's policy endpoints:
 * - `GET /_matrix/corporal/policy` → 200 `{"policy": <the policy as received> | null}`;
 * - `PUT /_matrix/corporal/policy` → 200 `{}` once the policy is in force **and** kept: its snapshot
 *   handed to the supervisor (which keeps a pushed policy across control-child restarts) and, with
 *   `last_seen_store_policy`, saved to `CachePath`; in force but not kept → 500 `M_UNKNOWN`
 *   "Policy in force but not kept: …" with `"applied": true` (pushing it again retries the save);
 *   not JSON → 400 `M_BAD_JSON` "Bad body payload"; too large for the control process' heap
 *   (`policyHeapProblem`) → 413 `M_TOO_LARGE` "Failed to set policy: …"; invalid → **400** (matrix-corporal: 200)
 *   `M_INVALID_PARAM` "Failed to set policy: …"; both list every problem in `issues`
 *   (`{pointer, message, line?, column?}`);
 * - `POST /_matrix/corporal/policy/provider/reload` → 200 `{}` at once; the reload runs in the
 *   background and, after a control-child restart, may replace a restored pushed policy even with
 *   the provider's unchanged content ({@link PolicyStore.releaseHold});
 * - a `PUT` or a reload that reads the policy and finds it unchanged requests a full pass (`requestFullPass`).
 */
export function policyRoutes(options: PolicyRoutesOptions): Route[] {
  const { store, provider, logger } = options;
  const requestFullPass = options.requestFullPass ?? (() => undefined);
  return [
    {
      pattern: '/_matrix/corporal/policy',
      methods: {
        GET: { id: 'policy.get', maxBodyBytes: SMALL_BODY_BYTES, handle: () => getPolicy(store) },
        PUT: { id: 'policy.put', maxBodyBytes: options.maxPolicyBytes ?? MAX_POLICY_BYTES, handle: (request) => putPolicy(store, request, requestFullPass) },
      },
    },
    {
      pattern: '/_matrix/corporal/policy/provider/reload',
      methods: {
        POST: {
          id: 'policy.provider.reload',
          maxBodyBytes: SMALL_BODY_BYTES,
          handle: () => {
            store.releaseHold();
            const generation = store.current?.generation;
            const askedAt = Date.now();
            provider.reload().then(
              () => {
                // Only a reload that read the policy and found it unchanged: not a failed fetch, a
                // refused policy, nor last_seen_store_policy's (it has nothing to reload from).
                const { lastError, lastSuccessAt } = provider.status();
                const readUnchanged = lastError === null && lastSuccessAt !== null && lastSuccessAt >= askedAt;
                if (readUnchanged && store.current !== null && store.current.generation === generation) requestFullPass();
              },
              (err: unknown) => logger.error({ err: describeError(err) }, 'provider reload failed'),
            );
            return { status: 200, body: {} };
          },
        },
      },
    },
  ];
}

function getPolicy(store: PolicyStore): ApiResponse {
  const current = store.current;
  if (current === null) return { status: 200, body: { policy: null } };
  // matrix-corporal re-serialised its policy structs: every field present with its default, keys
  // spelt canonically, unknown keys dropped; scripts written for it read defaults
  // (`flags.forbidRoomCreation == false`) that the text as received may lack. It refused schema 1,
  // whose normalised form would not mean the same when pushed back: that one is shown as received.
  if (current.sourceSchemaVersion === 1) {
    const parsed = parsePolicyText(current.text); // accepted text: it parses (maybe with warnings)
    return { status: 200, body: { policy: parsed.ok ? parsed.value : null } };
  }
  return { status: 200, body: { policy: withoutDerivedFields(current.document) } };
}

/**
 * The document as a policy author writes it: without `powerLevelsManaged`, which normalisation
 * derives from the schema version and no policy may contain.
 */
function withoutDerivedFields(document: PolicyDocument): unknown {
  return { ...document, users: document.users.map(({ powerLevelsManaged: _derived, ...user }) => user) };
}

async function putPolicy(store: PolicyStore, request: ApiRequest, requestFullPass: () => void): Promise<ApiResponse> {
  let text: string;
  try {
    text = UTF8.decode(request.body);
  } catch {
    return apiError(400, ErrCode.BadJson, 'Bad body payload', { issues: [{ pointer: '', message: 'the body is not valid UTF-8' }] });
  }
  const outcome = await store.set({ text }, API_POLICY_SOURCE);
  if (outcome.kind === 'unchanged') requestFullPass();
  if (outcome.kind === 'applied' || outcome.kind === 'unchanged') {
    if (outcome.notDurable === null) return { status: 200, body: {} };
    // Not a 200: the client was promised a policy that survives restarts. A 5xx makes a client
    // retry, and pushing the same policy again retries the save (the store calls its persisters
    // for an unchanged policy too). `applied` tells it the policy is enforced meanwhile.
    return apiError(500, ErrCode.Unknown, `Policy in force but not kept: ${outcome.notDurable}. It may not survive a restart; push it again to retry.`, { applied: true });
  }
  if (outcome.kind === 'held') throw new Error('a push is never held');
  const { rejection } = outcome;
  const details = { issues: rejection.errors, warnings: rejection.warnings };
  switch (rejection.stage) {
    case 'size':
      return apiError(413, ErrCode.TooLarge, `Failed to set policy: ${describeRejection(rejection)}`, details);
    case 'syntax':
      return apiError(400, ErrCode.BadJson, 'Bad body payload', details);
    case 'validation':
      return apiError(400, ErrCode.InvalidParam, `Failed to set policy: ${describeRejection(rejection)}`, details);
    case 'internal':
      return apiError(500, ErrCode.Unknown, 'Failed to set policy: internal error');
  }
}
