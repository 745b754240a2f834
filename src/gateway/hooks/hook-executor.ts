import type { Logger } from '../../common/logger.js';
import type { ConsultHook, PassModifiedRequestHook, PassModifiedResponseHook, SnapshotHook } from '../../policy/snapshot.js';
import { consultInput } from './consult-input.js';
import type { HookConsultor } from './consultor.js';
import { rejectAnswer, respondAnswer, type HookAnswer } from './hook-answers.js';
import type { HookRequest } from './hook-request.js';
import { mergeIntoJsonObject } from './json-merge.js';
import type { ResponseState } from './response-state.js';
import type { HookFailureLog } from './hook-failure-log.js';
import type { HookCounters } from './hook-counters.js';

/**
 * How deep consultations may chain (a REST service answering with another consult hook, whose
 * service answers with another, …; contingency and async-result hooks count as one level each).
 * matrix-corporal had no bound; a service misconfigured to point at itself would loop forever.
 */
export const MAX_CONSULT_DEPTH = 8;

/** What executing one hook led to. */
export type HookStep =
  /** Go on; `skip` ends the current event type's chain (`skipNextHooksInChain`). */
  | { readonly kind: 'next'; readonly skip: boolean }
  /** A before-hook answered the client itself (`reject`, `respond`): nothing further runs. */
  | { readonly kind: 'answered'; readonly answer: HookAnswer; readonly hookId: string }
  /**
   * The hook could not be executed (matrix-corporal's "processing error"): fail closed.
   * `clientCaused`: by what the client sent (its body), not by the policy or a REST service.
   */
  | { readonly kind: 'failed'; readonly hookId: string; readonly reason: string; readonly clientCaused: boolean };

const NEXT: HookStep = Object.freeze({ kind: 'next', skip: false });
const NEXT_AND_SKIP: HookStep = Object.freeze({ kind: 'next', skip: true });

function next(skip: boolean): HookStep {
  return skip ? NEXT_AND_SKIP : NEXT;
}

/** True when a hook's injection map has nothing in it. */
function isEmptyObject(value: Readonly<Record<string, unknown>>): boolean {
  return Object.keys(value).length === 0;
}

function failed(hook: SnapshotHook, reason: string, clientCaused = false): HookStep {
  return { kind: 'failed', hookId: hook.id, reason, clientCaused };
}

/** What the executor needs; built once per thread. */
export interface HookExecutorDeps {
  consultor: HookConsultor;
  logger: Logger;
  /** Largest answer read from a REST service (`HttpGateway.MaxInspectedBodyBytes`). */
  maxAnswerBytes: number;
  /** Where consultations that failed without failing the request are logged, throttled. */
  failures: HookFailureLog;
  /** Told of every hook executed (the request metrics). */
  counters: HookCounters;
}

/**
 * Executes single hooks, the six actions, in before or after position (matrix-corporal §7.4).
 * Hooks yielded by a REST service (or a contingency / async-result hook) run at once, in the
 * position of the hook that consulted, as matrix-corporal's "typeless" hooks do.
 *
 * `skipNextHooksInChain` of a consult hook counts together with that of the hook it yielded:
 * either ends the chain. (matrix-corporal looked only at the yielded hook's flag, so a policy
 * author's skip on the consult hook itself was silently ignored.)
 *
 * Rejects only on a bug, or when reading the request body fails (413 too large, client gone):
 * the pipeline answers those as any body-reading failure.
 */
export class HookExecutor {
  constructor(private readonly deps: HookExecutorDeps) {}

  /** Executes `hook` before proxying. `depth` counts the consultations that led to it. */
  async before(hook: SnapshotHook, request: HookRequest, depth = 0): Promise<HookStep> {
    this.traceHook(hook, 'before', request);
    this.deps.counters.executed('before', hook.action);
    switch (hook.action) {
      case 'pass.unmodified':
        return next(hook.skipNextHooksInChain);
      case 'reject':
        return { kind: 'answered', answer: rejectAnswer(hook), hookId: hook.id };
      case 'respond':
        return { kind: 'answered', answer: respondAnswer(hook), hookId: hook.id };
      case 'pass.modifiedRequest':
        return modifyRequest(hook, request);
      case 'pass.modifiedResponse':
        // Only reachable through a REST service (validation refuses it on before-hooks): the
        // modification waits for the upstream response, ahead of every after-hook.
        request.responseModifiers.push(hook);
        return next(hook.skipNextHooksInChain);
      case 'consult.RESTServiceURL': {
        const yielded = await this.consult(hook, request, null, depth);
        if (!('action' in yielded)) return yielded;
        const step = await this.before(yielded, request, depth + 1);
        return step.kind === 'next' && hook.skipNextHooksInChain ? NEXT_AND_SKIP : step;
      }
    }
  }

  /**
   * Executes `hook` on the upstream response (`response`, changed in place). `reject` and
   * `respond` replace the response but, as in matrix-corporal, later after-hooks still run on it
   * unless the chain is skipped. Never answers `answered`.
   */
  async after(hook: SnapshotHook, request: HookRequest, response: ResponseState, depth = 0): Promise<HookStep> {
    this.traceHook(hook, 'after', request);
    this.deps.counters.executed('after', hook.action);
    switch (hook.action) {
      case 'pass.unmodified':
        return next(hook.skipNextHooksInChain);
      case 'reject':
        response.answer(...answerParts(rejectAnswer(hook)));
        return next(hook.skipNextHooksInChain);
      case 'respond':
        response.answer(...answerParts(respondAnswer(hook)));
        return next(hook.skipNextHooksInChain);
      case 'pass.modifiedRequest':
        // The request is already upstream. matrix-corporal failed such a hook whenever it had JSON
        // to inject (the request body was gone) and let an empty one pass; so does Corporal.
        return isEmptyObject(hook.injectJSONIntoRequest) ? next(hook.skipNextHooksInChain) : failed(hook, 'pass.modifiedRequest in an after-hook: the request was already sent');
      case 'pass.modifiedResponse':
        return modifyResponse(hook, response) ? next(hook.skipNextHooksInChain) : failed(hook, 'the upstream response body is not a JSON object');
      case 'consult.RESTServiceURL': {
        const yielded = await this.consult(hook, request, response, depth);
        if (!('action' in yielded)) return yielded;
        if (yielded.action === 'pass.modifiedRequest') {
          return failed(hook, `the REST service yielded pass.modifiedRequest (hook ${yielded.id}) to an after-hook: too late to modify the request`);
        }
        const step = await this.after(yielded, request, response, depth + 1);
        return step.kind === 'next' && hook.skipNextHooksInChain ? NEXT_AND_SKIP : step;
      }
    }
  }

  /**
   * Consults `hook`'s REST service and returns the hook to run now, or the failure. Sync mode:
   * the service's hook; on failure the contingency hook (logged), else a processing error.
   * Async mode: the consultation runs in the background (still in the pool; a failure is only
   * logged) and the async-result hook runs at once.
   */
  private async consult(hook: ConsultHook, request: HookRequest, response: ResponseState | null, depth: number): Promise<SnapshotHook | HookStep> {
    if (depth >= MAX_CONSULT_DEPTH) return failed(hook, `consultations chained more than ${MAX_CONSULT_DEPTH} deep`);
    const input = await consultInput(hook, request, response, this.deps.maxAnswerBytes);
    const { consultor, logger, failures } = this.deps;
    if (hook.RESTServiceAsync) {
      consultor.consult(input).then(
        (result) => {
          if (!result.ok) failures.consultationFailed({ hookId: hook.id, reason: result.message }, 'async hook consultation failed');
        },
        (err: unknown) => logger.error({ hookId: hook.id, err }, 'async hook consultation crashed'),
      );
      return hook.RESTServiceAsyncResultHook;
    }
    const result = await consultor.consult(input);
    if (result.ok) {
      if (result.value.warnings.length > 0) logger.debug({ hookId: hook.id, warnings: result.value.warnings }, 'hook returned by REST service has warnings');
      logger.debug({ hookId: hook.id, yielded: result.value.hook.id, action: result.value.hook.action, attempts: result.value.attempts }, 'REST service yielded a hook');
      return result.value.hook;
    }
    if (hook.RESTServiceContingencyHook !== null) {
      failures.consultationFailed({ hookId: hook.id, reason: result.message, contingency: hook.RESTServiceContingencyHook.id }, 'hook consultation failed; running the contingency hook');
      return hook.RESTServiceContingencyHook;
    }
    return failed(hook, result.message);
  }

  private traceHook(hook: SnapshotHook, position: 'before' | 'after', request: HookRequest): void {
    if (this.deps.logger.isLevelEnabled('debug')) {
      this.deps.logger.debug({ hookId: hook.id, action: hook.action, position, method: request.method, path: request.loggedPath }, 'executing hook');
    }
  }
}

/**
 * `pass.modifiedRequest` before proxying. With JSON to inject, the body must be a JSON object
 * (else a processing error, as in matrix-corporal); the headers are set either way. matrix-corporal
 * tested the wrong field (`injectHeadersIntoResponse`) and so dropped header-only injections:
 * here an empty `injectJSONIntoRequest` with headers sets the headers and leaves the body alone.
 */
async function modifyRequest(hook: PassModifiedRequestHook, request: HookRequest): Promise<HookStep> {
  if (!isEmptyObject(hook.injectJSONIntoRequest)) {
    const merged = mergeIntoJsonObject(await request.body(), hook.injectJSONIntoRequest);
    if (merged === null) return failed(hook, 'the request body is not a JSON object', true);
    request.replaceBody(merged);
  }
  for (const [name, value] of Object.entries(hook.injectHeadersIntoRequest)) request.setHeader(name, value);
  return next(hook.skipNextHooksInChain);
}

/**
 * `pass.modifiedResponse` on the upstream response: with JSON to inject the body must be a JSON
 * object; headers are set. Nothing to inject at all → unchanged. False when the body is not a
 * JSON object (an encoded body is not one either).
 */
export function modifyResponse(hook: PassModifiedResponseHook, response: ResponseState): boolean {
  if (!isEmptyObject(hook.injectJSONIntoResponse) && !response.mergeJson(hook.injectJSONIntoResponse)) return false;
  for (const [name, value] of Object.entries(hook.injectHeadersIntoResponse)) response.setHeader(name, value);
  return true;
}

function answerParts(answer: HookAnswer): [number, string, string] {
  return [answer.status, answer.contentType, answer.body];
}
