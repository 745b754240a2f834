import type { PolicySnapshot } from '../../policy/snapshot.js';
import type { Plan, PlanOptions } from '../plan/types.js';
import type { ObservedState } from '../state.js';

/** The pure planner the loop calls: `planReconciliation` from `control/plan` (injected, so the loop stays testable). */
export type Planner = (observed: ObservedState, policy: PolicySnapshot, options: PlanOptions) => Plan;

/** A dry run's result (`ReconcileLoop.plan()`): the plan, and what observing cost. */
export interface DryRun extends Plan {
  /** Policy generation planned for. */
  generation: number;
  /** Policy users observed. */
  usersObserved: number;
  /** Synapse requests the observation took. */
  requests: number;
}
