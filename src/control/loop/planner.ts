import type { PolicySnapshot } from '../../policy/snapshot.js';
import type { Action } from '../actions.js';
import type { ObservedState } from '../state.js';

/** Options of the pure planner (`control/plan`'s `planReconciliation`). */
export interface PlannerOptions {
  /** `Reconciliation.DeactivatedDisplayNameMarker`. */
  deactivatedDisplayNameMarker: boolean;
  /** `Matrix.AuthSharedSecret` (derived passwords of created users). */
  authSharedSecret: string;
  /** Plan only for these users (changed-users and retry runs); default every policy user. */
  users?: ReadonlySet<string>;
}

/** Something the planner wants an operator to know (a policy room that is not managed, …). */
export interface PlanWarning {
  userId?: string;
  roomId?: string;
  message: string;
}

/** The planner's answer. */
export interface PlanResult {
  /** In execution order: each user's actions in order, power-level actions per room last. */
  actions: Action[];
  warnings: PlanWarning[];
  /** Managed rooms nothing was planned for (unreadable state, …). */
  skippedRooms: { roomId: string; reason: string }[];
}

/** The planner: a pure function of the observed state and the policy. */
export type Planner = (observed: ObservedState, policy: PolicySnapshot, options: PlannerOptions) => PlanResult;

/** A dry run's result (`ReconcileLoop.plan()`). */
export interface Plan extends PlanResult {
  /** Policy generation planned for. */
  generation: number;
  /** Policy users observed. */
  usersObserved: number;
  /** Synapse requests the observation took. */
  requests: number;
}
