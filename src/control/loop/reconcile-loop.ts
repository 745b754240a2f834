import { CorporalError, describeError } from '../../common/errors.js';
import type { ReconciliationConfig } from '../../common/config/types.js';
import type { Logger } from '../../common/logger.js';
import type { PolicySnapshot } from '../../policy/snapshot.js';
import type { ApplyContext } from '../apply/apply-context.js';
import { observe, type ObserveOptions } from '../observe/observe.js';
import type { ApplyPlanResult } from './apply-plan.js';
import { runOnce, type ReadLater } from './run-once.js';
import type { DryRun, Planner } from './planner.js';
import type { PlanOptions } from '../plan/types.js';
import { RetrySchedule, type RetryTarget } from './retry-schedule.js';
import { PlanWarningLog } from './plan-warning-log.js';
import { LoopTotalsCounter } from './loop-totals.js';
import { RecoveryWatch, synapseAnswers } from '../synapse/recovery-watch.js';
import { samePlanWhileInactive, type PolicyChange } from './changed-users.js';
import type { LoopStatus, RunSummary } from './run-summary.js';
import type { UnfinishedLocksStore } from './unfinished-locks-store.js';
import { UnfinishedLocks } from './unfinished-locks.js';

/** Options of {@link ReconcileLoop}. */
export interface ReconcileLoopOptions {
  /** The apply context; its `authSharedSecret` (`Matrix.AuthSharedSecret`) also serves observation and planning. */
  ctx: ApplyContext;
  reconciliation: ReconciliationConfig;
  /** Deadline of one action (`defaultActionTimeoutMs` in create-reconciler.ts gives the usual value). */
  actionTimeoutMs: number;
  /** The pure planner (`planReconciliation` from `control/plan`). */
  planner: Planner;
  logger: Logger;
  /** How often a long run logs its progress; default 10 s. */
  progressIntervalMs?: number;
  now?: () => number;
  random?: () => number;
  /**
   * Where the users whose lock left work undone are kept across restarts
   * (unfinished-locks-store.ts); absent: in memory only (tests of the loop alone).
   */
  unfinishedLocks?: UnfinishedLocksStore;
  /**
   * Resolves true once every gateway thread enforces the given policy generation or a newer one,
   * false when it stopped waiting (bounded by the implementation, or `signal` aborted: the loop
   * stopping); awaited before the first run of each new generation. Absent: no gateway to wait
   * for (the loop alone, `corporal plan`).
   */
  gatewayCaughtUp?: (generation: number, signal: AbortSignal) => Promise<boolean>;
}

/** Full passes queued in a row for rooms the corporal user has just joined (`#followUpCorporalJoins`). */
const MAX_FOLLOW_UPS_IN_A_ROW = 3;

/** Error code of {@link ReconcileLoop.plan} before any policy arrived. */
export const NO_POLICY = 'CORP_ERR_NO_POLICY';

/**
 * The reconcile loop: observe → plan → apply, single-flight, level-triggered.
 *
 * - {@link onPolicy}: a newer policy generation. The users it changed are reconciled at once
 *   (`'all'`: a full pass). A run in progress does nothing more for the changed users (the actions
 *   it is executing finish) and goes on for the others, whose policy entries are the same in both
 *   generations; the changed users are then reconciled on the newest policy. A change for everyone
 *   (`'all'`) stops the run before its next action instead, and the loop starts over on the newest
 *   policy (latest policy wins), redoing the interrupted run's users. So policies that change a
 *   few users more often than a run takes no longer keep every run from finishing.
 * - {@link trigger}: a full pass now; and one every `ResyncIntervalMilliseconds` after the last
 *   completed full pass (drift correction; 0 disables).
 * - Failure isolation: a failed action marks only its user (or room, for power levels) failed;
 *   each is retried on its own capped exponential backoff with jitter (`RetryIntervalMilliseconds`
 *   doubling up to `RetryMaxIntervalMilliseconds`) by a run over just the failed users. A pass that
 *   could not observe or plan is retried the same way. While retries wait for longer than
 *   `RetryIntervalMilliseconds`, a {@link RecoveryWatch} probes Synapse every interval and brings
 *   them forward once Synapse answers again after an outage.
 * - Triggers that arrive during a run coalesce into one follow-up run.
 */
export class ReconcileLoop {
  readonly #options: ReconcileLoopOptions;
  readonly #now: () => number;
  readonly #retries: RetrySchedule;
  readonly #recovery: RecoveryWatch;
  readonly #warningLog = new PlanWarningLog();
  readonly #totals = new LoopTotalsCounter();
  /** Managed rooms whose state was too large to read whole, read by type for a while (`ObserveOptions.swollenRooms`). */
  readonly #swollenRooms = new Map<string, number>();
  #policy: PolicySnapshot | null = null;
  #pendingFull = false;
  readonly #pendingUsers = new Set<string>();
  #running: Promise<void> | null = null;
  /** A newer policy for everyone arrived during the run in progress. */
  #superseded = false;
  /** Users a newer policy changed during the run in progress (in a way that changes their plan). */
  readonly #supersededUsers = new Set<string>();
  /** The policy the run in progress plans and applies. */
  #runPolicy: PolicySnapshot | null = null;
  #stopped = false;
  /** Rooms the corporal user joined in the last full pass: joining them again queues no follow-up. */
  #joinedLastPass: ReadonlySet<string> = new Set();
  /** Users whose lock left work undone (unfinished-locks.ts). */
  readonly #unfinishedLocks: UnfinishedLocks;
  /** The newest policy generation whose run waited for the gateway (`gatewayCaughtUp`). */
  #gatewayWaitedFor = 0;
  /** Ends a wait for the gateway when the loop stops: a shutdown must not wait for threads that are going away. */
  #endGatewayWait: (() => void) | null = null;
  /** Follow-up passes queued in a row (at most {@link MAX_FOLLOW_UPS_IN_A_ROW}). */
  #followUpsInARow = 0;
  #current: RunSummary | null = null;
  #lastRun: RunSummary | null = null;
  #lastFullRun: RunSummary | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #resyncTimer: NodeJS.Timeout | null = null;
  #nextResyncAt: number | null = null;
  #idleWaiters: (() => void)[] = [];

  constructor(options: ReconcileLoopOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#unfinishedLocks = new UnfinishedLocks(options.unfinishedLocks, options.logger);
    this.#retries = new RetrySchedule({
      initialMs: options.reconciliation.RetryIntervalMilliseconds,
      maxMs: options.reconciliation.RetryMaxIntervalMilliseconds,
      ...(options.random ? { random: options.random } : {}),
    });
    this.#recovery = new RecoveryWatch({
      intervalMs: options.reconciliation.RetryIntervalMilliseconds,
      maxGapMs: options.reconciliation.RetryMaxIntervalMilliseconds,
      probe: () => synapseAnswers(options.ctx.http),
      onRecovered: () => this.#retryNow(),
      now: this.#now,
    });
  }

  /**
   * A new policy generation and what it changed (`changedUserIds`): `'all'` for a full pass that
   * stops the run in progress; `fullPassAfterRun` for a full pass after it, which leaves the
   * changed users to that pass; otherwise the users whose policy entry changed (added, removed or
   * edited). An older or equal generation is ignored.
   */
  onPolicy(snapshot: PolicySnapshot, changedUserIds: PolicyChange): void {
    if (this.#stopped) return;
    if (this.#policy !== null && snapshot.generation <= this.#policy.generation) {
      this.#options.logger.debug({ generation: snapshot.generation, current: this.#policy.generation }, 'ignoring an older policy generation');
      return;
    }
    this.#policy = snapshot;
    if (changedUserIds === 'all') {
      this.#pendingFull = true;
      if (this.#running !== null) this.#superseded = true;
      this.#kick();
      return;
    }
    const users = 'fullPassAfterRun' in changedUserIds ? changedUserIds.users : changedUserIds;
    if ('fullPassAfterRun' in changedUserIds) this.#pendingFull = true;
    for (const userId of users) this.#pendingUsers.add(userId);
    if (this.#running !== null) for (const userId of users) if (!this.#planStillHolds(userId, snapshot)) this.#supersededUsers.add(userId);
    this.#kick();
  }

  /** Requests a full pass now (after the run in progress, if any). */
  trigger(): void {
    if (this.#stopped) return;
    this.#pendingFull = true;
    this.#kick();
  }

  /**
   * Dry run: observes every policy user and managed room and plans, without applying anything.
   * Rejects with {@link NO_POLICY} before the first policy.
   */
  async plan(): Promise<DryRun> {
    const policy = this.#policy;
    if (policy === null) throw new CorporalError(NO_POLICY, 'no policy has been loaded yet', { source: 'policy', status: 503 });
    // Before the first run has read them, the recorded unfinished locks would be missing from the plan.
    await this.#unfinishedLocks.load();
    const observation = await observe(policy, this.#observeOptions());
    const result = this.#options.planner(observation.state, policy, this.#plannerOptions(undefined));
    return { ...result, generation: policy.generation, usersObserved: observation.usersObserved, requests: observation.requests };
  }

  /** The loop's state: the run in progress, the last finished run and full pass, the next resync, pending retries. */
  status(): LoopStatus {
    return {
      running: this.#running !== null,
      policyGeneration: this.#policy?.generation ?? null,
      current: this.#current === null ? null : copySummary(this.#current),
      lastRun: this.#lastRun === null ? null : copySummary(this.#lastRun),
      lastFullRun: this.#lastFullRun === null ? null : copySummary(this.#lastFullRun),
      nextResyncAt: this.#nextResyncAt,
      retries: this.#retries.list(this.#now()),
      totals: this.#totals.totals(),
    };
  }

  /** Resolves once no run is in progress and none is pending (scheduled retries and resyncs aside). */
  async idle(): Promise<void> {
    if (this.#running === null && !this.#hasPendingWork()) return;
    await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Stops: no new runs or actions; waits for the run in progress, whose actions in flight finish
   * or reach their deadline (an action abandoned at its deadline is not waited for). Idempotent.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#endGatewayWait?.();
    this.#recovery.stop();
    this.#clearTimer('retry');
    this.#clearTimer('resync');
    this.#nextResyncAt = null;
    await this.#running;
  }

  /** Whether the run in progress planned for `userId` what `newer` asks too (see `samePlanWhileInactive`). */
  #planStillHolds(userId: string, newer: PolicySnapshot): boolean {
    return this.#runPolicy !== null && samePlanWhileInactive(this.#runPolicy.users.get(userId), newer.users.get(userId));
  }

  #hasPendingWork(): boolean {
    return this.#policy !== null && !this.#stopped && (this.#pendingFull || this.#pendingUsers.size > 0);
  }

  #kick(): void {
    if (this.#running !== null) return;
    if (!this.#hasPendingWork()) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
      return;
    }
    this.#running = this.#drain()
      .catch((err: unknown) => this.#options.logger.error({ err: describeError(err) }, 'reconcile loop failed'))
      .finally(() => {
        this.#running = null;
        this.#kick();
      });
  }

  async #drain(): Promise<void> {
    while (this.#hasPendingWork() && this.#policy !== null) {
      const policy = this.#policy;
      const users = this.#pendingFull ? undefined : new Set(this.#pendingUsers);
      this.#pendingFull = false;
      this.#pendingUsers.clear();
      this.#superseded = false;
      this.#supersededUsers.clear();
      this.#runPolicy = policy;
      await this.#run(policy, users);
    }
  }

  /** One run (run-once.ts), then the loop's bookkeeping: requeue, retries, the next resync. */
  async #run(policy: PolicySnapshot, users: Set<string> | undefined): Promise<void> {
    await this.#waitForGateway(policy.generation);
    if (this.#stopped) return;
    await this.#unfinishedLocks.load();
    const { summary, applied, readLater } = await runOnce(policy, users, {
      ctx: this.#options.ctx,
      logger: this.#options.logger,
      planner: this.#options.planner,
      observeOptions: this.#observeOptions(),
      plannerOptions: this.#plannerOptions(users),
      concurrency: this.#options.reconciliation.Concurrency,
      actionTimeoutMs: this.#options.actionTimeoutMs,
      progressIntervalMs: this.#options.progressIntervalMs ?? 10_000,
      now: this.#now,
      shouldStop: () => this.#superseded || this.#stopped,
      userSuperseded: (userId) => this.#supersededUsers.has(userId),
      stopping: () => this.#stopped,
      started: (live) => {
        this.#current = live;
      },
      warningLog: this.#warningLog,
      beforeApply: (actions) => this.#unfinishedLocks.saveAhead(actions.flatMap((action) => (action.type === 'user.deactivate' ? [action.userId] : []))),
    });
    this.#current = null;
    this.#lastRun = summary;
    this.#totals.add(summary);
    // A pass cut short (superseded by a newer policy, stopped) would hide the last real one.
    if (users === undefined && (summary.outcome === 'completed' || summary.outcome === 'failed')) this.#lastFullRun = summary;
    if (applied !== null) {
      this.#unfinishedLocks.record(applied, this.#policy);
      await this.#unfinishedLocks.save();
      this.#recordApplied(users, applied, readLater, summary.outcome === 'completed');
      if (users === undefined) this.#followUpCorporalJoins(applied);
      if (applied.corporalJoinRefused.size > 0) this.#reportRefusedJoins(applied.corporalJoinRefused);
    } else if (summary.outcome === 'failed') this.#recordRunFailure(users);
    if (summary.outcome === 'superseded') {
      if (users === undefined) this.#pendingFull = true;
      else for (const userId of users) this.#pendingUsers.add(userId);
    }
    if (summary.outcome === 'completed' && users === undefined) this.#scheduleResync();
    this.#armRetryTimer();
  }

  /**
   * Retry bookkeeping after the apply phase: failed actions, and what the observation could not
   * read for reasons that may pass (`readLater`: otherwise a room skipped for a timeout waited for
   * the next resync, or for ever without one; quality review 16, #3). Successes are only recorded
   * for a run that completed.
   */
  #recordApplied(users: Set<string> | undefined, applied: ApplyPlanResult, readLater: ReadLater, completed: boolean): void {
    const failedUsers = new Set([...applied.failedUsers, ...readLater.users]);
    const failed: RetryTarget[] = [...failedUsers].map((userId) => ({ kind: 'user', userId }));
    for (const [roomId, userIds] of applied.failedRooms) failed.push({ kind: 'room', roomId, userIds });
    // A failed join of the corporal user is retried by a full pass: only full plans make one. A
    // join Synapse refused is not: a pass of every user and room every few minutes, for a room
    // that stays blocked, would be load without end (`#reportRefusedJoins`).
    const passFailed = readLater.pass || applied.corporalJoinFailed.size > 0;
    if (passFailed) failed.push({ kind: 'pass' });
    this.#retries.failed(failed, this.#now());
    if (!completed) return;
    const inScope = (userId: string): boolean => (users === undefined || users.has(userId)) && !applied.deferredUsers.has(userId);
    const queuedRooms = new Set(this.#retries.queued().map((target) => (target.kind === 'room' ? target.roomId : '')));
    for (const target of this.#retries.targets()) {
      if (target.kind === 'user' && inScope(target.userId) && !failedUsers.has(target.userId)) this.#retries.succeeded(target);
      if (target.kind !== 'room' || applied.failedRooms.has(target.roomId)) continue;
      if ([...target.userIds].every(inScope)) this.#retries.succeeded(target);
      // A room retry this run was doing, whose users it split (some deferred by a newer policy), is
      // settled by a run over all of them; the follow-up run over the deferred ones alone would
      // never settle it. A retry still waiting out its backoff is left to fall due.
      else if (queuedRooms.has(target.roomId) && [...target.userIds].some((userId) => applied.deferredUsers.has(userId))) {
        for (const userId of target.userIds) this.#pendingUsers.add(userId);
      }
    }
    if (users === undefined && !passFailed) this.#retries.succeeded({ kind: 'pass' });
  }

  /**
   * Before the first run of a new policy generation, waits until the gateway threads enforce it.
   * Why: the run may lock users the policy has just made inactive, cancelling their delayed events
   * first. A delayed event whose body the user completes after that cancellation, and before the
   * lock, is refused only by a gateway thread that already has the new policy (it checks the sender
   * again once the body is in: red team 23, F2); one still on the old policy would let Synapse store
   * an event nobody cancels, sent after the lock. Threads usually have it within milliseconds, but a
   * huge policy takes each a while to decode, while a run for one changed user is as quick. When the
   * wait gives up, the run goes on anyway: the lock matters more than that narrow race.
   */
  async #waitForGateway(generation: number): Promise<void> {
    const caughtUp = this.#options.gatewayCaughtUp;
    if (caughtUp === undefined || generation <= this.#gatewayWaitedFor) return;
    this.#gatewayWaitedFor = generation;
    let enforced: boolean | 'stopped' = false;
    // Aborted when the wait ends, however it ends: the questions to the supervisor stop with it.
    const questions = new AbortController();
    try {
      const stopped = new Promise<'stopped'>((resolve) => {
        this.#endGatewayWait = () => resolve('stopped');
      });
      enforced = await Promise.race([caughtUp(generation, questions.signal), stopped]);
    } catch {
      // Treated as not confirmed.
    } finally {
      this.#endGatewayWait = null;
      questions.abort();
    }
    if (enforced === 'stopped') return;
    if (enforced) this.#options.logger.debug({ generation }, 'the gateway threads enforce this policy generation; reconciling it');
    else this.#options.logger.warn({ generation }, 'the gateway threads do not confirm that they enforce this policy generation; reconciling it anyway');
  }

  /**
   * The corporal user joined managed rooms in a full pass: that pass planned nothing else there
   * (`plan-corporal-joins.ts`), so another full pass follows at once to plan them with it inside.
   * Not for rooms it also joined in the pass before: a join that succeeds while the next
   * observation still shows an invitation must not make passes loop.
   */
  #followUpCorporalJoins(applied: ApplyPlanResult): void {
    const fresh = [...applied.corporalJoined].filter((roomId) => !this.#joinedLastPass.has(roomId));
    this.#joinedLastPass = new Set(applied.corporalJoined);
    if (fresh.length === 0) {
      this.#followUpsInARow = 0;
      return;
    }
    // A backstop: stale invitations that alternate between rooms could otherwise chain passes.
    if (this.#followUpsInARow >= MAX_FOLLOW_UPS_IN_A_ROW) {
      this.#options.logger.warn({ rooms: fresh }, 'the corporal user joined managed rooms again after several follow-up passes; they are planned by the next full pass');
      this.#followUpsInARow = 0;
      return;
    }
    this.#followUpsInARow += 1;
    this.#options.logger.info({ rooms: fresh }, 'the corporal user accepted its invitations to managed rooms; planning them now');
    this.#pendingFull = true;
  }

  /**
   * Synapse refused the corporal user's joins of `rooms` (each failure is logged too): no retry is
   * scheduled for them, the next full pass tries again while the invitation stands. Until then each
   * room stays as it was, unplanned. Said once per pass, with when that pass comes.
   */
  #reportRefusedJoins(rooms: ReadonlySet<string>): void {
    const resyncMs = this.#options.reconciliation.ResyncIntervalMilliseconds;
    const when = resyncMs > 0 ? `the next full pass (resync every ${Math.round(resyncMs / 1000)} s)` : 'the next full pass (no resync is configured: a policy change of the managed rooms or flags, or POST /_matrix/corporal/reconcile)';
    this.#options.logger.warn({ rooms: [...rooms] }, `Synapse refused the corporal user's join of managed rooms; they stay unplanned, and ${when} tries again while the invitation stands`);
  }

  /**
   * A run that could not observe or plan failed for its users, and for every retry it was queued to
   * do: a room's retry left queued would never fall due again, and `/status` would list it as due
   * now until a full pass (quality review 16, #4).
   */
  #recordRunFailure(users: Set<string> | undefined): void {
    const failed: RetryTarget[] = users === undefined ? [{ kind: 'pass' }] : [...users].map((userId) => ({ kind: 'user', userId }));
    this.#retries.failed([...failed, ...this.#retries.queued()], this.#now());
  }

  #armRetryTimer(): void {
    this.#clearTimer('retry');
    const dueAt = this.#retries.nextDueAt();
    // Retries queued for a run (no due time left) wait for nothing: "now" keeps an outage the
    // watch saw in mind until that run's outcome is known.
    this.#recovery.waitUntil(dueAt ?? (this.#retries.queued().length > 0 ? this.#now() : null));
    if (dueAt === null || this.#stopped) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      const due = this.#retries.takeDue(this.#now());
      if (due.full) this.#pendingFull = true;
      for (const userId of due.users) this.#pendingUsers.add(userId);
      this.#armRetryTimer();
      this.#kick();
    }, Math.max(0, dueAt - this.#now())).unref();
  }

  /** Synapse answers again after an outage: every waiting retry is due now. */
  #retryNow(): void {
    const advanced = this.#retries.advance(this.#now());
    if (advanced === 0) return;
    this.#options.logger.info({ retries: advanced }, 'Synapse answers again; retrying the failed reconciliation now');
    this.#armRetryTimer();
  }

  #scheduleResync(): void {
    this.#clearTimer('resync');
    const interval = this.#options.reconciliation.ResyncIntervalMilliseconds;
    if (interval <= 0 || this.#stopped) {
      this.#nextResyncAt = null;
      return;
    }
    this.#nextResyncAt = this.#now() + interval;
    this.#resyncTimer = setTimeout(() => {
      this.#resyncTimer = null;
      this.#nextResyncAt = null;
      this.trigger();
    }, interval).unref();
  }

  #clearTimer(which: 'retry' | 'resync'): void {
    const timer = which === 'retry' ? this.#retryTimer : this.#resyncTimer;
    if (timer !== null) clearTimeout(timer);
    if (which === 'retry') this.#retryTimer = null;
    else this.#resyncTimer = null;
  }

  #observeOptions(): ObserveOptions {
    const { ctx, reconciliation } = this.#options;
    return { http: ctx.http, admin: ctx.admin, authSharedSecret: ctx.authSharedSecret, concurrency: reconciliation.Concurrency, swollenRooms: this.#swollenRooms, now: this.#now };
  }

  #plannerOptions(users: ReadonlySet<string> | undefined): PlanOptions {
    return {
      deactivatedDisplayNameMarker: this.#options.reconciliation.DeactivatedDisplayNameMarker,
      authSharedSecret: this.#options.ctx.authSharedSecret,
      corporalUserId: this.#options.ctx.adminUserId,
      locksUnfinished: this.#unfinishedLocks.userIds(),
      ...(users ? { users } : {}),
    };
  }
}

function copySummary(summary: RunSummary): RunSummary {
  return { ...summary, failures: [...summary.failures], warnings: [...summary.warnings], skippedRooms: [...summary.skippedRooms] };
}
