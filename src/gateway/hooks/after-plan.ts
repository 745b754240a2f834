import type { HookFailureLog } from './hook-failure-log.js';
import type { HookCounters } from './hook-counters.js';
import type { HookEventType } from '../../policy/snapshot.js';
import { AFTER_HOOK_FAILED } from './hook-answers.js';
import { modifyResponse, type HookExecutor } from './hook-executor.js';
import type { HookRequest } from './hook-request.js';
import type { MatchedChains } from './hook-table.js';
import { ResponseState, type UpstreamResponse } from './response-state.js';

/**
 * The after-hooks scheduled for one request: matched before proxying (matrix-corporal evaluates
 * their rules then), executed once the upstream response is in memory.
 *
 * Order: first the `pass.modifiedResponse` hooks that before-hooks' REST services yielded, then
 * each event type's chain in the order scheduled, each chain in policy order.
 *
 * Skip semantics, fixed against matrix-corporal: `skipNextHooksInChain` ends only the chain of
 * its own event type (matrix-corporal ended every later after-hook too, unlike its before-hooks),
 * and it is honoured on `pass.modifiedResponse` after-hooks (matrix-corporal ignored it there).
 * A processing error replaces the response with 503 "Afer-hook execution failed, cannot proceed"
 * and ends all after-hooks, as in matrix-corporal (which answered a `pass.modifiedResponse` on a
 * body that is not JSON with an empty 502 instead; Corporal answers the same 503 for every
 * after-hook failure).
 */
export class AfterPlan {
  /** Some scheduled after-hook consults a REST service, whose payload includes the request body. */
  readonly needsRequestBody: boolean;

  constructor(
    private readonly chains: MatchedChains,
    private readonly eventTypes: readonly HookEventType[],
    private readonly request: HookRequest,
    private readonly executor: HookExecutor,
    private readonly failures: HookFailureLog,
    private readonly counters: HookCounters,
  ) {
    this.needsRequestBody = chains.some((chain) => chain.some((hook) => hook.action === 'consult.RESTServiceURL'));
  }

  /**
   * Call before proxying: reads the request body when an after-hook will need it (the stream is
   * gone once proxied), so the pipeline must then send {@link HookRequest.loadedBody} upstream.
   * Null when there is nothing to wait for. Rejects as the body reader does (413 too large).
   */
  prepare(): Promise<void> | null {
    if (!this.needsRequestBody || this.request.loadedBody !== null) return null;
    return this.request.body().then(() => undefined);
  }

  /**
   * Runs the after-hooks on `upstream` and resolves with the response to send: `upstream` itself
   * when nothing changed it. Hook failures become the 503 answer; rejects only on a bug.
   */
  async apply(upstream: UpstreamResponse): Promise<UpstreamResponse> {
    const response = new ResponseState(upstream);
    for (const modifier of this.request.responseModifiers) {
      if (!modifyResponse(modifier, response)) return this.fail(response, modifier.id, 'the upstream response body is not a JSON object', null);
    }
    for (let i = 0; i < this.chains.length; i++) {
      for (const hook of this.chains[i]!) {
        const step = await this.executor.after(hook, this.request, response);
        if (step.kind === 'failed') return this.fail(response, step.hookId, step.reason, this.eventTypes[i] ?? null, step.clientCaused);
        if (step.kind === 'next' && step.skip) break;
      }
    }
    return response.result();
  }

  private fail(response: ResponseState, hookId: string, reason: string, eventType: HookEventType | null, clientCaused = false): UpstreamResponse {
    this.counters.failed('after', clientCaused ? 'client' : 'other');
    this.failures.failed({ hookId, eventType, method: this.request.method, path: this.request.loggedPath, reason }, clientCaused, 'after-hook execution failed');
    response.answer(AFTER_HOOK_FAILED.status, AFTER_HOOK_FAILED.contentType, AFTER_HOOK_FAILED.body);
    return response.result();
  }
}
