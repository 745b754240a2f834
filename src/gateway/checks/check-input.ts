import type { PolicySnapshot } from '../../policy/snapshot.js';
import type { RouteMatch } from '../router/index.js';
import { DECISIONS, type Decision } from './decision.js';
import type { JsonBody } from '../json-body.js';
import type { ManagedLevelsIndex } from './managed-levels-index.js';
import type { CurrentRoomEncryption } from './encryption-reader.js';
import type { AliasTarget } from './alias-resolver.js';

/**
 * The power levels the corporal user needs to reconcile a room: kicking and banning members,
 * inviting, and sending `m.room.power_levels` (`events["m.room.power_levels"]`, else
 * `state_default`). Membership events need no send level of their own in Synapse's auth rules.
 */
export type CorporalThreshold = 'kick' | 'ban' | 'invite' | 'powerLevels';

/**
 * What the current `m.room.power_levels` (state key `""`) of a room says, read with the
 * requester's token, plus the room's v12+ creators (unlimited power, never listed in `users`).
 */
export interface CurrentPowerLevels {
  /** `content.users`; a level Corporal cannot read exactly (`parsePowerLevel`) is NaN. */
  readonly users: Readonly<Record<string, number>>;
  /** `content.users_default` (0 when absent, NaN when unreadable). */
  readonly usersDefault: number;
  /** The levels the reconciler's actions need (see {@link CorporalThreshold}), Synapse's defaults filled in. */
  readonly thresholds: Readonly<Record<CorporalThreshold, number>>;
  /** The `m.room.create` sender and `additional_creators` in room versions where they have unlimited power; else empty. */
  readonly creators: ReadonlySet<string>;
  /** UTF-8 bytes of the content as compact JSON (0 without a power-levels event); absent counts as 0. */
  readonly contentBytes?: number;
}

/**
 * Everything a policy check may look at. Built by the pipeline once the route, the identity and
 * (for checks with `needsBody`) the body are known. Checks are pure: their only I/O goes through
 * the optional functions, which the pipeline injects with timeouts of their own.
 */
export interface CheckInput {
  readonly route: RouteMatch;
  /** The request method, upper-case (HEAD as GET), as the router matched it. */
  readonly method: string;
  /** The user Synapse resolved the access token to (appservice masquerading applied), or null without a token. */
  readonly userId: string | null;
  /** The snapshot pinned for this request. */
  readonly snapshot: PolicySnapshot;
  /**
   * The request schedules an MSC4140 delayed event (Synapse stores it now and sends it later,
   * without another check; see delayed-events.ts).
   */
  readonly delayed: boolean;
  /** The parsed body for checks with `needsBody: 'json'`; undefined otherwise. */
  readonly body: JsonBody | undefined;
  /** `Corporal.UserID`: exempt from Corporal's own rules and from the room-creation flags. */
  readonly corporalUserId: string;
  /** `Matrix.HomeserverDomainName`: the domain of locally registered user ids. */
  readonly serverName: string;
  /** Required power levels per managed room, built once per snapshot (see {@link ManagedLevelsIndex}). */
  readonly levels: ManagedLevelsIndex;
  /**
   * Room alias → room id through the client directory API, read for `requester` (the user the
   * request acts as, whose reads are bounded), or null when it does not resolve (unknown alias,
   * error, timeout). Absent: aliases cannot be checked and are refused.
   */
  readonly resolveAlias?: (alias: string, requester: string) => Promise<AliasTarget | null>;
  /**
   * The room's current power levels read with the requester's token, or null when they cannot be
   * read. Absent: power-levels changes are compared with the policy alone.
   */
  readonly currentPowerLevels?: (roomId: string) => Promise<CurrentPowerLevels | null>;
  /**
   * The room's current encryption state read with the requester's token, or null when it cannot
   * be read. Absent: the room's encryption cannot be checked (an upgrade or a redaction that needs
   * it is refused).
   */
  readonly currentEncryption?: (roomId: string) => Promise<CurrentRoomEncryption | null>;
}

const MISSING_TOKEN: Decision = DECISIONS.missingToken;

/** What a check needs of the request body before it decides (see {@link PolicyCheck.needsBody}). */
export type BodyNeed = 'json' | 'whole' | false;

/** How one route id is policed. */
export interface PolicyCheck {
  /** True: no token → 401 `M_MISSING_TOKEN`. False: the check also runs for requests without one. */
  readonly requiresToken: boolean;
  /**
   * `'json'`: read (bounded) and parse the body before the check. `'whole'`: read it (bounded) but
   * do not parse it: the check does not look at it, but its decision depends on the policy, and
   * Synapse acts on the request only once the body is complete, which the client may delay; the
   * decision is therefore made then, on the policy of that moment. `false`: stream it untouched
   * (only for checks whose decision no policy change can turn, or that have no body).
   */
  readonly needsBody: BodyNeed;
  /**
   * The decision; a promise only when the check needs I/O (alias resolution, current power levels,
   * the room's current encryption for upgrades and redactions).
   */
  check(input: CheckInput): Decision | Promise<Decision>;
}

/**
 * A check for a route that requires a token: `check` gets the requester's user id. The pipeline
 * answers 401 before a check runs without one; the null test only keeps the type honest (and
 * fails closed if a caller forgets).
 */
export function authenticatedCheck(
  needsBody: BodyNeed,
  check: (input: CheckInput, userId: string) => Decision | Promise<Decision>,
): PolicyCheck {
  return Object.freeze({
    requiresToken: true,
    needsBody,
    check: (input: CheckInput) => (input.userId === null ? MISSING_TOKEN : check(input, input.userId)),
  });
}
