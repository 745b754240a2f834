/**
 * The event-hook engine of a gateway thread (matrix-corporal §7). See docs/hooks.md.
 *
 * The pipeline uses it through `HookPhase` (hook-phase.ts): `before(ctx, phases)` after identity,
 * `after(ctx, phases)` before the authentication phase, with `phases = hookPhasesOf(kind, hasUser)`.
 * The engine underneath, per request:
 *   const request = new HookRequest({ method, rawPath, rawQuery, userId, headers, readBody });
 *   const outcome = engine.runBefore(snapshot, phases.before, request);   // sync CONTINUE when no hook matches
 *   // respond → send it; continue → send request.headers / request.loadedBody upstream when changed
 *   const plan = engine.scheduleAfter(snapshot, phases.after, request);   // null → stream the response untouched
 *   await plan?.prepare(); // then buffer the response and send await plan.apply(response)
 */
export { HookEngine, CONTINUE, type BeforeOutcome, type HookEngineDeps } from './hook-engine.js';
export { AfterPlan } from './after-plan.js';
export { HookPhase, type HookPhaseDeps, type HookPhaseOutcomes } from './hook-phase.js';
export { createThreadHooks, CONSULT_IN_THREAD_ENV, type ThreadHooks } from './thread-hooks.js';
export { HookRequest, type HookRequestInit } from './hook-request.js';
export { createPooledConsultor, createDirectConsultor, type HookConsultor } from './consultor.js';
export type { UpstreamResponse } from './response-state.js';
export { UNCOUNTED, type HookCounters, type HookFailureCause, type HookPosition } from './hook-counters.js';
export { MAX_CONSULT_DEPTH } from './hook-executor.js';
export { BEFORE_HOOK_FAILED, AFTER_HOOK_FAILED, type HookAnswer } from './hook-answers.js';
export * from './hook-events.js';
