import type { PolicySnapshot } from '../../policy/snapshot.js';
import type { Identity } from '../identity/identity.js';
import type { RequestContext } from '../request-context.js';
import { JSON_ERROR_HEADERS, type ClientExchange } from '../respond.js';
import type { CheckInput, PolicyCheck } from './check-input.js';
import { DECISIONS, type Decision, type Denial } from './decision.js';
import type { PowerLevelsReader } from './power-levels-reader.js';
import type { TokenState } from './token-rules.js';
import { inspectedBody } from '../inspected-body.js';
import { masquerades } from '../identity/credentials.js';
import { identityRefusal } from '../identity/inactive-in-policy.js';
import { parseJsonBody, type JsonBody } from '../json-body.js';
import { ManagedLevelsIndex } from './managed-levels-index.js';
import type { RouteId } from '../router/index.js';
import { POLICY_CHECKS } from './registry.js';
import { schedulesDelayedEvent } from './delayed-events.js';
import { tokenDenial } from './token-rules.js';
import type { EncryptionReader } from './encryption-reader.js';
import type { AliasTarget } from './alias-resolver.js';
import { pinnedJoinTarget } from './pinned-join.js';

/** The routes whose check reads the room's encryption as the requester (an upgrade copies it; a redaction may empty it). */
const READS_ENCRYPTION: ReadonlySet<RouteId> = new Set<RouteId>(['room.upgrade', 'room.redact', 'room.send.redaction', 'room.state.redaction']);

/** What the policy-check phase needs; built once per gateway thread by its composition root. */
export interface CheckPhaseDeps {
  /** `Corporal.UserID`. */
  corporalUserId: string;
  /** `Matrix.HomeserverDomainName`. */
  serverName: string;
  /** `HttpGateway.MaxInspectedBodyBytes`: a larger body on a checked route is 413 `M_TOO_LARGE`. */
  maxBodyBytes: number;
  /** Alias → room id and servers, read for a requester (see `createAliasResolver`). */
  resolveAlias: (alias: string, requester: string) => Promise<AliasTarget | null>;
  /** Current power levels as the requester (see `createPowerLevelsReader`). */
  readPowerLevels: PowerLevelsReader;
  /** A room's encryption as the requester (see `createEncryptionReader`). */
  readEncryption: EncryptionReader;
}

/** How the phase hands a request on: the next phase, a decision to answer, an error to answer. */
export interface CheckPhaseOutcomes {
  /** Allowed (or not policy-checked): continue with the next phase (after-hooks, proxy). */
  allowed(ctx: RequestContext): void;
  /** Denied: answer with the decision's status and Matrix error. */
  denied(ctx: RequestContext, decision: Extract<Decision, { allow: false }>): void;
  /** Reading the body or a look-up failed unexpectedly: answer the error (answer-error.ts). */
  failed(ctx: RequestContext, err: unknown): void;
}

/** How often a check that needed a look-up is made again when the policy changed meanwhile. */
const MAX_REDECISIONS = 2;

/**
 * The policy-check phase of the pipeline (docs/firewall.md §1): runs after identity (and the
 * before-hooks), for route ids in {@link POLICY_CHECKS}; every other request goes straight on.
 *
 * 1. Token rules ({@link tokenDenial}); a failed identity look-up is answered with its error (fail
 *    closed: a check must never decide for an unknown requester).
 * 2. For checks that read the body or whose decision depends on the policy (`needsBody` `'json'`
 *    or `'whole'`): read it, bounded (413 `M_TOO_LARGE`), into `ctx.bufferedBody`, which is then
 *    sent upstream byte for byte instead of the stream (a body a before-hook already read or
 *    changed is taken from there). Other bodies keep streaming.
 * 3. The check, on the policy current once the body is complete ({@link RequestContext.refreshSnapshot}):
 *    Synapse acts on a request only when its body is complete, and the client chooses when that
 *    is, so a decision on the policy of the request's start could let through what a newer policy
 *    forbids, after the reconciler has already applied it. A user whom the newer policy refuses
 *    outright (inactive, say) is refused as in the identity phase. A check that needed a look-up is made again
 *    when the policy changed meanwhile (at most twice; then 503). Then `allowed` or `denied`.
 *
 * Nothing is allocated per request beyond the check input (and the body buffer where needed); the
 * managed-levels index is built once per snapshot.
 */
export class CheckPhase {
  private readonly levelsBySnapshot = new WeakMap<PolicySnapshot, ManagedLevelsIndex>();

  constructor(
    private readonly deps: CheckPhaseDeps,
    private readonly outcomes: CheckPhaseOutcomes,
  ) {}

  /** The check for the request's route id, or undefined when the route is not policy-checked. */
  checkFor(ctx: RequestContext): PolicyCheck | undefined {
    return ctx.route === null ? undefined : POLICY_CHECKS.get(ctx.route.id);
  }

  /** Token rules: a denial to answer, or null. Call before the authenticated before-hooks. */
  tokenDenial(ctx: RequestContext, check: PolicyCheck): Extract<Decision, { allow: false }> | null {
    return tokenDenial(check, tokenStateOf(ctx.identity));
  }

  /** Runs the phase for a request whose token rules passed (see the class comment). */
  run(ctx: RequestContext, check: PolicyCheck): void {
    if (ctx.identity.kind === 'unresolved') {
      this.outcomes.failed(ctx, ctx.identity.error);
      return;
    }
    if (check.needsBody === false) {
      this.decide(ctx, check, undefined, 0);
      return;
    }
    // A body a before-hook already read (or replaced) is taken as it is: the check decides on what
    // goes upstream. A request without a body reads as empty.
    inspectedBody(ctx, this.deps.maxBodyBytes)
      .then((bytes) => {
        if (ctx.exchange.isOpen) this.decide(ctx, check, check.needsBody === 'json' ? parseJsonBody(bytes) : undefined, 0);
      })
      .catch((err: unknown) => this.outcomes.failed(ctx, err));
  }

  /** `redecisions`: how often the check was made again because the policy changed during a look-up. */
  private decide(ctx: RequestContext, check: PolicyCheck, body: JsonBody | undefined, redecisions: number): void {
    const refusal = ctx.refreshSnapshot() ? this.identityRefusal(ctx) : null;
    if (refusal !== null) {
      this.outcomes.denied(ctx, refusal);
      return;
    }
    const snapshot = ctx.snapshot as PolicySnapshot;
    const decision = check.check(this.inputOf(ctx, snapshot, body));
    if (!(decision instanceof Promise)) {
      this.settle(ctx, decision);
      return;
    }
    decision
      .then((settled) => {
        if (!ctx.exchange.isOpen) return;
        if (ctx.hasNewestSnapshot()) this.settle(ctx, settled);
        else if (redecisions < MAX_REDECISIONS) this.decide(ctx, check, body, redecisions + 1);
        else this.outcomes.denied(ctx, DECISIONS.policyChanging);
      })
      .catch((err: unknown) => this.outcomes.failed(ctx, err));
  }

  private identityRefusal(ctx: RequestContext): Denial | null {
    return identityRefusal(ctx.snapshot as PolicySnapshot, ctx.identity, masquerades(ctx.credentials), ctx.routeId, ctx.rawPath, this.deps.corporalUserId);
  }

  private settle(ctx: RequestContext, decision: Decision): void {
    if (!decision.allow) {
      this.outcomes.denied(ctx, decision);
      return;
    }
    // Allowed for the room an alias resolved to: Synapse must join that room, not resolve the
    // alias again (it could point elsewhere by now), so the request is forwarded by room id.
    if (decision.pinnedRoom !== undefined) ctx.upstreamTarget = pinnedJoinTarget(ctx.rawPath, ctx.rawQuery, ctx.route!.prefix, decision.pinnedRoom);
    if (ctx.check?.needsBody !== false) ctx.decidedOnPolicy = true;
    this.outcomes.allowed(ctx);
  }

  private inputOf(ctx: RequestContext, snapshot: PolicySnapshot, body: JsonBody | undefined): CheckInput {
    const route = ctx.route!;
    const credentials = ctx.credentials;
    const upper = ctx.method.toUpperCase();
    const userId = ctx.identity.kind === 'user' ? ctx.identity.userId : null;
    return {
      route,
      method: upper === 'HEAD' ? 'GET' : upper,
      userId,
      snapshot,
      delayed: schedulesDelayedEvent(ctx.rawQuery),
      body,
      corporalUserId: this.deps.corporalUserId,
      serverName: this.deps.serverName,
      levels: this.levelsFor(snapshot),
      resolveAlias: this.deps.resolveAlias,
      // Only these routes read the room as the requester; other requests build no closure. The
      // requester is a user here: these checks are authenticated (token rules ran first).
      currentPowerLevels: route.id === 'room.state.power_levels' && credentials.kind === 'token' && userId !== null
        ? (roomId) => this.deps.readPowerLevels(roomId, credentials, userId)
        : undefined,
      currentEncryption: READS_ENCRYPTION.has(route.id) && credentials.kind === 'token' && userId !== null
        ? (roomId) => this.deps.readEncryption(roomId, credentials, userId)
        : undefined,
    };
  }

  private levelsFor(snapshot: PolicySnapshot): ManagedLevelsIndex {
    let levels = this.levelsBySnapshot.get(snapshot);
    if (levels === undefined) {
      levels = new ManagedLevelsIndex(snapshot);
      this.levelsBySnapshot.set(snapshot, levels);
    }
    return levels;
  }
}

/**
 * Answers a denial: its status and Matrix error, plus `"soft_logout": true` when the denial
 * carries it ({@link DECISIONS}`.expiredToken`), which `sendMatrixError` cannot add.
 */
export function sendDenial(exchange: ClientExchange, denial: Denial): void {
  if (denial.softLogout === true) {
    exchange.send(denial.status, JSON_ERROR_HEADERS, JSON.stringify({ errcode: denial.errcode, error: denial.message, soft_logout: true }));
  } else {
    exchange.sendMatrixError(denial.status, denial.errcode, denial.message);
  }
}

/** The token state of an identity (a failed look-up counts as a user here: `run` answers it). */
export function tokenStateOf(identity: Identity): TokenState {
  switch (identity.kind) {
    case 'anonymous':
      return 'none';
    case 'invalid-credentials':
      return 'invalid';
    case 'unknown-token':
      return identity.softLogout === true ? 'expired' : 'unknown';
    case 'locked':
      return 'locked';
    case 'user':
    case 'unresolved':
      return 'user';
  }
}
