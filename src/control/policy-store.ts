import type { Logger } from '../common/logger.js';
import { describeError } from '../common/errors.js';
import type { EncodedSnapshot } from '../common/ipc.js';
import { compilePolicy } from '../policy/compile.js';
import { hashPolicy } from '../policy/hash.js';
import { formatIssue, type PolicyIssue } from '../policy/issues.js';
import { loadPolicyValue } from '../policy/load.js';
import { parsePolicyText } from '../policy/parse.js';
import type { PolicySnapshot } from '../policy/snapshot.js';
import { encodeSnapshot } from '../policy/transport.js';
import type { PolicyDocument } from '../policy/types.js';

/** A policy as a provider or the API hands it over: text as written, or an already-parsed JSON value. */
export type PolicyInput = { text: string } | { value: unknown };

/** The policy currently in force, with everything derived from it. */
export interface CurrentPolicy {
  document: PolicyDocument;
  snapshot: PolicySnapshot;
  /** `encodeSnapshot(snapshot)`: what the supervisor relays to the gateway threads. */
  encoded: Uint8Array;
  /**
   * The policy as received (text, or the JSON of a pushed value). This, not the normalised
   * document, is what is persisted and served by `GET /_matrix/corporal/policy`: re-serialising
   * the normalised form would turn a schema-1 policy into schema 2 and change its meaning.
   */
  text: string;
  hash: string;
  generation: number;
  /** Where it came from: `static_file:/path`, `http:https://host/path`, `api`, … */
  source: string;
  /** Epoch ms at which this process accepted it. */
  loadedAt: number;
  warnings: PolicyIssue[];
}

/** The last refused policy: when, from where, why. */
export interface PolicyRejection {
  at: number;
  source: string;
  /** `syntax`: not JSON; `validation`: JSON, but not a valid policy; `internal`: compiling it failed (a bug). */
  stage: 'syntax' | 'validation' | 'internal';
  errors: PolicyIssue[];
  warnings: PolicyIssue[];
}

/** What {@link PolicyStore.set} did. */
export type SetOutcome =
  | { kind: 'applied'; policy: CurrentPolicy }
  | { kind: 'unchanged'; policy: CurrentPolicy }
  | { kind: 'invalid'; rejection: PolicyRejection };

/**
 * Called after the current policy changed, in order, once per change: `previous` is null for the
 * first policy this process holds. Not called for a refused or unchanged policy.
 */
export type PolicyListener = (previous: CurrentPolicy | null, next: CurrentPolicy) => void;

/** What {@link PolicyStore} needs. */
export interface PolicyStoreOptions {
  /** `Matrix.HomeserverDomainName`: every managed user must be on it. */
  homeserverDomain: string;
  logger: Logger;
  /**
   * The snapshot the supervisor already holds (from `control.init`): generations continue above
   * it, so they never go backwards across control-child restarts; a policy with the same hash is
   * taken over under its generation without being sent again.
   */
  inherited: { generation: number; hash: string } | null;
  /** Sends a new snapshot to the supervisor (`policy.snapshot`). */
  publish: (snapshot: EncodedSnapshot) => void;
  now?: () => number;
}

/** At most this many issues of a refused policy are written to the log (all are kept in status). */
const LOGGED_ISSUES = 20;

/**
 * The control child's single owner of policy state. Every policy, from any provider or the API,
 * goes through {@link set}: parse → normalise → validate → (same content hash as now: nothing to do)
 * → bump the generation → compile → encode → publish to the supervisor → notify listeners.
 *
 * Calls to `set` are applied strictly in call order (one at a time), so two quick pushes can never
 * be reconciled or relayed out of order (matrix-corporal notified on unordered goroutines, quirk 18).
 */
export class PolicyStore {
  private currentPolicy: CurrentPolicy | null = null;
  private rejection: PolicyRejection | null = null;
  private lastGeneration: number;
  private readonly listeners = new Set<PolicyListener>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly options: PolicyStoreOptions) {
    this.lastGeneration = options.inherited?.generation ?? 0;
    this.now = options.now ?? Date.now;
  }

  /** The policy in force, or null before the first valid one. */
  get current(): CurrentPolicy | null {
    return this.currentPolicy;
  }

  /** The most recent refused policy, cleared by the next accepted (or unchanged) one. */
  get lastRejection(): PolicyRejection | null {
    return this.rejection;
  }

  /** The highest generation issued or inherited so far (0 when none). */
  get generation(): number {
    return this.lastGeneration;
  }

  /** Registers a change listener; returns its removal. A throwing listener is logged, never fatal. */
  onChange(listener: PolicyListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Offers a policy. Resolves once it has been applied, found unchanged or refused (a refused
   * policy leaves the current one in force and is recorded as {@link lastRejection}). Never rejects.
   */
  set(input: PolicyInput, source: string): Promise<SetOutcome> {
    const result = this.queue.then(() => {
      try {
        return this.apply(input, source);
      } catch (err) {
        return this.refuse(source, 'internal', [{ pointer: '', message: `internal error: ${describeError(err)}` }], []);
      }
    });
    this.queue = result;
    return result;
  }

  private apply(input: PolicyInput, source: string): SetOutcome {
    const { logger } = this.options;
    let value: unknown;
    let text: string;
    let parseWarnings: PolicyIssue[] = [];
    if ('text' in input) {
      const parsed = parsePolicyText(input.text);
      if (!parsed.ok) return this.refuse(source, 'syntax', [parsed.error], []);
      ({ value } = parsed);
      text = input.text;
      parseWarnings = parsed.warnings;
    } else {
      ({ value } = input);
      text = JSON.stringify(value);
    }
    // JSON that is not an object cannot be decoded into a policy at all: a syntax-stage refusal, as
    // matrix-corporal's decoder failed on it (`M_BAD_JSON` at the API, not `M_INVALID_PARAM`).
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return this.refuse(source, 'syntax', [{ pointer: '', message: 'the policy must be a JSON object' }], parseWarnings);
    }
    const loaded = loadPolicyValue(value, { homeserverDomain: this.options.homeserverDomain });
    const warnings = [...parseWarnings, ...loaded.warnings];
    if (!loaded.ok) return this.refuse(source, 'validation', loaded.errors, warnings);

    const hash = hashPolicy(loaded.document);
    const previous = this.currentPolicy;
    this.rejection = null;
    if (previous !== null && previous.hash === hash) {
      logger.debug({ source, hash, generation: previous.generation }, 'policy unchanged');
      return { kind: 'unchanged', policy: previous };
    }

    // A restarted child that loads what the gateway already enforces keeps that generation and
    // sends nothing; anything else is a new generation above every one issued before.
    const inherited = this.options.inherited;
    const takeOver = previous === null && inherited !== null && inherited.hash === hash;
    const generation = takeOver ? inherited.generation : this.lastGeneration + 1;
    const loadedAt = this.now();
    const snapshot = compilePolicy(loaded.document, { generation, hash, loadedAt, source });
    const encoded = encodeSnapshot(snapshot);
    const next: CurrentPolicy = { document: loaded.document, snapshot, encoded, text, hash, generation, source, loadedAt, warnings };
    this.currentPolicy = next;
    this.lastGeneration = generation;
    if (!takeOver) this.options.publish({ generation, hash, bytes: encoded });
    logger.info({
      source, generation, hash, users: snapshot.users.size, warnings: warnings.length, resumed: takeOver,
    }, takeOver ? 'policy loaded (already enforced by the gateway)' : 'policy applied');
    for (const warning of warnings.slice(0, LOGGED_ISSUES)) logger.warn({ source, issue: formatIssue(warning) }, 'policy warning');
    for (const listener of this.listeners) {
      try {
        listener(previous, next);
      } catch (err) {
        logger.error({ err: describeError(err) }, 'policy listener failed');
      }
    }
    return { kind: 'applied', policy: next };
  }

  private refuse(source: string, stage: PolicyRejection['stage'], errors: PolicyIssue[], warnings: PolicyIssue[]): SetOutcome {
    const rejection: PolicyRejection = { at: this.now(), source, stage, errors, warnings };
    this.rejection = rejection;
    this.options.logger.error({
      source, stage, errorCount: errors.length, errors: errors.slice(0, LOGGED_ISSUES).map(formatIssue),
    }, 'policy refused; the current policy stays in force');
    return { kind: 'invalid', rejection };
  }
}

/** One line describing a refusal: the first error and how many more there are. */
export function describeRejection(rejection: PolicyRejection): string {
  const [first] = rejection.errors;
  const head = first === undefined ? 'invalid policy' : formatIssue(first);
  const more = rejection.errors.length - 1;
  return more > 0 ? `${head} (and ${more} more error${more === 1 ? '' : 's'})` : head;
}
