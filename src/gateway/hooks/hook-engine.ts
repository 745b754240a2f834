import type { Logger } from '../../common/logger.js';
import type { HookEventType, PolicySnapshot } from '../../policy/snapshot.js';
import type { HeaderPair } from '../respond.js';
import { AfterPlan } from './after-plan.js';
import { countedConsultor, type HookConsultor } from './consultor.js';
import { hookAnswerHeaders, BEFORE_HOOK_FAILED, type HookAnswer } from './hook-answers.js';
import { HookExecutor } from './hook-executor.js';
import type { HookPhases } from './hook-events.js';
import type { HookRequest } from './hook-request.js';
import { HookTables, matchCandidates, type MatchedChains } from './hook-table.js';
import { HookFailureLog } from './hook-failure-log.js';
import { UNCOUNTED, type HookCounters } from './hook-counters.js';

/** What the before-hooks decided. */
export type BeforeOutcome =
  /** Proxy (the request may have been changed: see `HookRequest`). */
  | { readonly kind: 'continue' }
  /**
   * Answer the client with this and stop: a hook's `reject`/`respond`, or (`failed`) the 503 of a
   * hook that could not be executed. No after-hook runs.
   */
  | { readonly kind: 'respond'; readonly status: number; readonly headers: readonly HeaderPair[]; readonly body: string; readonly hookId: string; readonly failed: boolean };

/** The outcome when no before-hook answered (a constant: the no-hook path allocates nothing). */
export const CONTINUE: BeforeOutcome = Object.freeze({ kind: 'continue' });

/** What the engine needs; built once per gateway thread. */
export interface HookEngineDeps {
  /** Runs REST consultations (the thread's pool: `createPooledConsultor`). */
  consultor: HookConsultor;
  logger: Logger;
  /** `HttpGateway.MaxInspectedBodyBytes`: also bounds a REST service's answer. */
  maxInspectedBodyBytes: number;
  /** Told of consultations, executions and failures (the request metrics); none when absent. */
  counters?: HookCounters;
}

/**
 * The event-hook engine of one gateway thread (matrix-corporal §7). Per snapshot it builds each
 * hook's matchers once (see `HookTables`); per request it matches hooks on method, route path
 * (decoded but for `%2F`) and user, runs before-hook chains and schedules after-hooks.
 *
 * Fast path: when no hook of the asked event types can match, {@link runBefore} returns
 * {@link CONTINUE} synchronously and {@link scheduleAfter} returns null (the response then streams
 * untouched); for most routes that costs a cached `Map` look-up on the method.
 */
export class HookEngine {
  private readonly tables = new HookTables();
  private readonly executor: HookExecutor;
  private readonly failures: HookFailureLog;
  private readonly counters: HookCounters;

  constructor(private readonly deps: HookEngineDeps) {
    this.failures = new HookFailureLog(deps.logger);
    this.counters = deps.counters ?? UNCOUNTED;
    const consultor = deps.counters === undefined ? deps.consultor : countedConsultor(deps.consultor, (ok) => this.counters.consulted(ok));
    this.executor = new HookExecutor({ consultor, logger: deps.logger, maxAnswerBytes: deps.maxInspectedBodyBytes, failures: this.failures, counters: this.counters });
  }

  /**
   * Whether any hook of `phases` can fire for a request with this method (its route and user
   * rules aside). False for most requests: the pipeline then builds no {@link HookRequest} and
   * the request streams as if there were no hooks. Cached per snapshot, phases and method.
   */
  mayFire(snapshot: PolicySnapshot, phases: HookPhases, method: string): boolean {
    return this.tables.tableFor(snapshot).mayFire(phases.before, phases.after, method);
  }

  /**
   * Runs the before-hooks of `eventTypes`, in that order, each type's chain in policy order
   * (matrix-corporal's `RunAllMatchingType` per type). A chain stops at a hook that answers, fails
   * or sets `skipNextHooksInChain`; a skip ends only its own type's chain. Rules are matched
   * against `request` as it is now (hooks cannot change method, path or user).
   *
   * Synchronous {@link CONTINUE} when no hook matches. Otherwise a promise; it rejects only when
   * reading the request body fails (413 too large, client gone) or on a bug — answer those as any
   * body-reading failure. Pass constant `eventTypes` arrays (they key a cache).
   */
  runBefore(snapshot: PolicySnapshot, eventTypes: readonly HookEventType[], request: HookRequest): BeforeOutcome | Promise<BeforeOutcome> {
    const matched = this.match(snapshot, eventTypes, request);
    return matched === null ? CONTINUE : this.runChains(matched, eventTypes, request);
  }

  /**
   * Schedules the after-hooks of `eventTypes` (matched now, before proxying). Null when none
   * matches and no before-hook left a response modification: the response streams untouched.
   * Otherwise call {@link AfterPlan.prepare} before proxying, have the proxy buffer the response
   * (up to `HttpGateway.MaxInspectedBodyBytes`) and send what {@link AfterPlan.apply} returns.
   */
  scheduleAfter(snapshot: PolicySnapshot, eventTypes: readonly HookEventType[], request: HookRequest): AfterPlan | null {
    const matched = this.match(snapshot, eventTypes, request);
    if (matched === null && request.responseModifiers.length === 0) return null;
    return new AfterPlan(matched ?? [], eventTypes, request, this.executor, this.failures, this.counters);
  }

  private match(snapshot: PolicySnapshot, eventTypes: readonly HookEventType[], request: HookRequest): MatchedChains | null {
    const candidates = this.tables.tableFor(snapshot).candidates(eventTypes, request.method);
    return candidates === null ? null : matchCandidates(candidates, request);
  }

  private async runChains(chains: MatchedChains, eventTypes: readonly HookEventType[], request: HookRequest): Promise<BeforeOutcome> {
    for (let i = 0; i < chains.length; i++) {
      for (const hook of chains[i]!) {
        const step = await this.executor.before(hook, request);
        if (step.kind === 'answered') return respondWith(step.answer, step.hookId, false);
        if (step.kind === 'failed') {
          this.counters.failed('before', step.clientCaused ? 'client' : 'other');
          this.failures.failed({ hookId: step.hookId, eventType: eventTypes[i], method: request.method, path: request.loggedPath, reason: step.reason }, step.clientCaused, 'hook execution failed');
          return respondWith(BEFORE_HOOK_FAILED, step.hookId, true);
        }
        if (step.skip) break;
      }
    }
    return CONTINUE;
  }
}

function respondWith(answer: HookAnswer, hookId: string, failed: boolean): BeforeOutcome {
  return { kind: 'respond', status: answer.status, headers: hookAnswerHeaders(answer), body: answer.body, hookId, failed };
}
