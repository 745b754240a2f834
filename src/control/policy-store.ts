import type { Logger } from '../common/logger.js';
import { describeError } from '../common/errors.js';
import { settleWithin } from '../common/deadline.js';
import type { EncodedSnapshot, InheritedPolicy, RetainedPolicy } from '../common/ipc.js';
import { compilePolicy } from '../policy/compile.js';
import { hashPolicy } from '../policy/hash.js';
import { formatIssue, summariseErrors, type PolicyIssue } from '../policy/issues.js';
import { loadPolicyText, loadPolicyValue, type LoadResult } from '../policy/load.js';
import { policyHeapProblem, processHeapLimitBytes } from '../policy/memory-estimate.js';
import type { PolicySnapshot } from '../policy/snapshot.js';
import { encodeSnapshot } from '../policy/transport.js';
import type { PolicyDocument } from '../policy/types.js';

/** Source label of policies pushed through `PUT /_matrix/corporal/policy`; every other source is a provider's. */
export const API_POLICY_SOURCE = 'api';

/** A policy as a provider or the API hands it over: text as written, or an already-parsed JSON value. */
export type PolicyInput = { text: string } | { value: unknown };

/** How {@link PolicyStore.set} should describe a refusal. */
export interface SetOptions {
  /**
   * The source offered is the only copy a restart would load (a `static_file`'s file, an `http`
   * remote without `CachePath`): if it is refused while a policy is in force, a restart now would
   * start without a policy, and the refusal says so (operator review 19, finding 6).
   */
  restartLoadsThis?: boolean;
}

/** The policy currently in force, with everything derived from it. */
export interface CurrentPolicy {
  document: PolicyDocument;
  snapshot: PolicySnapshot;
  /** `encodeSnapshot(snapshot)`: what the supervisor relays to the gateway threads. */
  encoded: Uint8Array;
  /**
   * The policy as received (text, or the JSON of a pushed value). This, not the normalised
   * document, is what is persisted (`last_seen_store_policy`, as strict JSON; the `http`
   * provider's cache), so that a restart reads what the operator wrote.
   */
  text: string;
  /** The schema version the text was written in (a schema-1 document is normalised to schema 2). */
  sourceSchemaVersion: 1 | 2;
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
  /**
   * `size`: too large to load in this process' heap (refused before parsing); `syntax`: not JSON;
   * `validation`: JSON, but not a valid policy; `internal`: compiling it failed (a bug).
   */
  stage: 'size' | 'syntax' | 'validation' | 'internal';
  /** At most `MAX_REPORTED_ISSUES` errors, then one entry counting the rest. */
  errors: PolicyIssue[];
  warnings: PolicyIssue[];
  /** How many errors there were in all. */
  errorCount: number;
}

/**
 * What {@link PolicyStore.set} did. `applied` and `unchanged` carry `notDurable`: null once the policy
 * is where Corporal promises to keep it (snapshot handed to the supervisor, every persister done),
 * else why it is in force but not kept (no secret in it). `held`: a provider delivered the very
 * content it had delivered before a control-child restart, so the restored pushed policy stays in
 * force (`providerHash` is the delivered content's hash).
 */
export type SetOutcome =
  | { kind: 'applied'; policy: CurrentPolicy; notDurable: string | null }
  | { kind: 'unchanged'; policy: CurrentPolicy; notDurable: string | null }
  | { kind: 'held'; policy: CurrentPolicy; providerHash: string }
  | { kind: 'invalid'; rejection: PolicyRejection };

/**
 * Saves an accepted policy somewhere (last_seen_store_policy's file). Resolves once it is saved;
 * rejects when it cannot be, with an error whose message may be shown to an API client (no secret).
 */
export type PolicyPersister = (policy: CurrentPolicy) => Promise<void>;

/**
 * Called after the current policy changed, in order, once per change: `previous` is null for the
 * first policy this process holds. Not called for a refused or unchanged policy.
 */
export type PolicyListener = (previous: CurrentPolicy | null, next: CurrentPolicy) => void;

/** What {@link PolicyStore} needs. */
export interface PolicyStoreOptions {
  /** `Matrix.HomeserverDomainName`: every managed user must be on it. */
  homeserverDomain: string;
  /** `Corporal.UserID`: a policy entry for it is left out of the snapshot, with a warning (policy/compile.ts). */
  corporalUserId: string;
  logger: Logger;
  /**
   * The snapshot the supervisor already holds (from `control.init`): generations continue above
   * it, so they never go backwards across control-child restarts; a policy with the same hash is
   * taken over under its generation without being sent again. With `pushedText`, see
   * {@link PolicyStore.restoreInherited}.
   */
  inherited: (Pick<InheritedPolicy, 'generation' | 'hash'> & Partial<RetainedPolicy>) | null;
  /**
   * Hands a new snapshot, and what the supervisor should retain with it, to the supervisor
   * (`policy.accepted`). Resolves once the supervisor holds it (the IPC write completed), rejects
   * when it cannot be sent.
   */
  publish: (snapshot: EncodedSnapshot, retained: RetainedPolicy) => Promise<void> | void;
  now?: () => number;
  /** How long `set` waits for the hand-over and the saves (default {@link DURABLE_WAIT_MS}). */
  durableWaitMs?: number;
  /** The heap a policy text is measured against (`policyHeapProblem`; default: this process' heap limit). */
  heapLimitBytes?: number;
}

/**
 * How long {@link PolicyStore.set} waits for a policy's hand-over and saves before it answers that
 * the policy is in force but not kept: a save that hangs (a stalled network file system) must not
 * stop every later push and provider delivery, which queue behind it.
 */
const DURABLE_WAIT_MS = 30_000;

/**
 * Resolves with null once `work` (named `what`) resolves, or with why not: its error (after
 * `errorPrefix`, if any), or that the deadline passed.
 */
function withinDeadline(work: Promise<void>, deadlineMs: number, what: string, errorPrefix: string | null): Promise<string | null> {
  const settled = work.then(() => null, (err: unknown) => (errorPrefix === null ? describeError(err) : `${errorPrefix}: ${describeError(err)}`));
  return settleWithin<string | null>(settled, deadlineMs, () => `${what} is still not done after ${deadlineMs} ms (it goes on)`, { unref: true });
}

/** At most this many issues of a refused policy are written to the log (all are kept in status). */
const LOGGED_ISSUES = 20;

const UTF8_ENCODER = new TextEncoder();
const UTF8_DECODER = new TextDecoder('utf-8');

/**
 * The control child's single owner of policy state. Every policy, from any provider or the API,
 * goes through {@link set}: parse → normalise → validate → (same content hash as now: nothing to do)
 * → bump the generation → compile → encode → publish to the supervisor → notify listeners.
 *
 * Calls to `set` are applied strictly in call order (one at a time), so two quick pushes can never
 * be reconciled or relayed out of order (matrix-corporal notified on unordered goroutines, quirk 18).
 * A call resolves only after its snapshot was handed to the supervisor and every persister is done,
 * and the next call waits for that, so saves happen in the same order.
 */
export class PolicyStore {
  private currentPolicy: CurrentPolicy | null = null;
  private rejection: PolicyRejection | null = null;
  private lastGeneration: number;
  private readonly listeners = new Set<PolicyListener>();
  private readonly persisters = new Set<PolicyPersister>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;
  /** Content hash of the last valid policy a provider (any source but the API) delivered. */
  private providerHash: string | null;
  /**
   * While a pushed policy restored after a control-child restart is in force: the provider content
   * that must not replace it (what the provider had delivered before). Null: nothing held.
   */
  private heldProviderHash: string | null = null;
  /** Whether the current hold was logged at info already. */
  private holdReported = false;

  constructor(private readonly options: PolicyStoreOptions) {
    this.lastGeneration = options.inherited?.generation ?? 0;
    this.providerHash = options.inherited?.providerHash ?? null;
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
   * Registers a persister, called (and awaited, in order) for every applied or unchanged policy, so
   * that pushing the same policy again retries a save that failed. Returns its removal.
   */
  addPersister(persister: PolicyPersister): () => void {
    this.persisters.add(persister);
    return () => {
      this.persisters.delete(persister);
    };
  }

  /**
   * After a control-child restart: when the supervisor retained a policy pushed through the API,
   * applies it again under the generation the gateway already enforces (nothing is re-sent), and
   * from then on holds back provider deliveries whose content is what the provider had delivered
   * before (`providerHash`): the push stays in force until the provider's content really changes,
   * a reload is asked for ({@link releaseHold}) or another policy is pushed. Call before the
   * provider starts. Resolves with whether a policy was restored.
   *
   * Why: a crash is invisible otherwise (fail-static), and re-reading an unchanged file must not
   * silently undo a pushed deactivation (red-team 8, F5).
   */
  async restoreInherited(): Promise<boolean> {
    const inherited = this.options.inherited;
    if (!inherited?.pushedText || inherited.source === undefined) return false;
    const outcome = await this.set({ text: UTF8_DECODER.decode(inherited.pushedText) }, inherited.source);
    if (outcome.kind !== 'applied') return false;
    this.heldProviderHash = inherited.providerHash ?? null;
    this.options.logger.info({ generation: outcome.policy.generation, source: inherited.source, holding: this.heldProviderHash !== null },
      'pushed policy restored after a control-child restart; the provider replaces it only with different content or on reload');
    return true;
  }

  /** Ends the hold of {@link restoreInherited} (an explicit provider reload): the provider's next delivery applies as usual. */
  releaseHold(): void {
    if (this.heldProviderHash === null) return;
    this.heldProviderHash = null;
    this.options.logger.info('provider reload requested: the restored pushed policy no longer holds back the provider');
  }

  /**
   * Offers a policy. Resolves once it has been applied (and made durable, see {@link SetOutcome}),
   * found unchanged, held or refused (a refused policy leaves the current one in force and is
   * recorded as {@link lastRejection}). Never rejects.
   */
  set(input: PolicyInput, source: string, options: SetOptions = {}): Promise<SetOutcome> {
    const result = this.queue.then(async () => {
      let prepared: Prepared | SetOutcome;
      try {
        prepared = this.apply(input, source, options);
      } catch (err) {
        return this.refuse(source, options, 'internal', [{ pointer: '', message: `internal error: ${describeError(err)}` }], [], 1);
      }
      return 'delivery' in prepared ? this.makeDurable(prepared) : prepared;
    });
    this.queue = result;
    return result;
  }

  /** Waits for the snapshot hand-over and every persister; never rejects. */
  private async makeDurable(prepared: Prepared): Promise<SetOutcome> {
    const deadlineMs = this.options.durableWaitMs ?? DURABLE_WAIT_MS;
    const problems = await Promise.all([
      withinDeadline(prepared.delivery, deadlineMs, 'the hand-over to the supervisor', 'the snapshot could not be handed to the supervisor'),
      ...[...this.persisters].map((persist) => withinDeadline(persist(prepared.policy), deadlineMs, 'the save', null)),
    ]);
    const notDurable = problems.filter((problem) => problem !== null).join('; ') || null;
    if (notDurable !== null) this.options.logger.error({ generation: prepared.policy.generation, problem: notDurable }, 'policy in force but not kept durably');
    return { kind: prepared.kind, policy: prepared.policy, notDurable };
  }

  private apply(input: PolicyInput, source: string, options: SetOptions): Prepared | SetOutcome {
    const { logger, homeserverDomain, corporalUserId } = this.options;
    let loaded: LoadResult;
    let text: string;
    if ('text' in input) {
      const heapProblem = policyHeapProblem(input.text, this.options.heapLimitBytes ?? processHeapLimitBytes());
      if (heapProblem !== null) return this.refuse(source, options, 'size', [heapProblem], [], 1);
      loaded = loadPolicyText(input.text, { homeserverDomain, corporalUserId });
      text = input.text;
    } else {
      loaded = loadPolicyValue(input.value, { homeserverDomain, corporalUserId });
      text = JSON.stringify(input.value);
    }
    if (!loaded.ok) return this.refuse(source, options, loaded.stage, loaded.errors, loaded.warnings, loaded.errorCount, loaded.identificationStamp ?? null);
    const { warnings } = loaded;

    const hash = hashPolicy(loaded.document);
    const previous = this.currentPolicy;
    const clearsRejection = this.rejection !== null;
    this.rejection = null;
    const fromProvider = source !== API_POLICY_SOURCE;
    if (fromProvider && previous !== null && this.heldProviderHash === hash && previous.hash !== hash) {
      // Once per hold at info: an http provider without ETags delivers the same content every poll.
      logger[this.holdReported ? 'debug' : 'info']({ source, hash, generation: previous.generation },
        'provider policy unchanged since before the control-child restart; the pushed policy stays in force');
      this.holdReported = true;
      return { kind: 'held', policy: previous, providerHash: hash };
    }
    if (fromProvider) this.providerHash = hash;
    if (previous !== null && previous.hash === hash) {
      // After a refusal, say that the error is gone: fixing a broken file back to the content in
      // force changes nothing else, and an operator watching the log would otherwise see only the error.
      if (clearsRejection) logger.info({ source, hash, generation: previous.generation, ...stampField(previous.document.identificationStamp) }, 'policy valid again; unchanged from the policy in force');
      else logger.debug({ source, hash, generation: previous.generation }, 'policy unchanged');
      return { kind: 'unchanged', policy: previous, delivery: Promise.resolve() };
    }

    // A restarted child that loads what the gateway already enforces keeps that generation and
    // sends nothing; anything else is a new generation above every one issued before.
    const inherited = this.options.inherited;
    const takeOver = previous === null && inherited !== null && inherited.hash === hash;
    const generation = takeOver ? inherited.generation : this.lastGeneration + 1;
    const loadedAt = this.now();
    const snapshot = compilePolicy(loaded.document, { generation, hash, loadedAt, source, corporalUserId });
    const encoded = encodeSnapshot(snapshot);
    const sourceSchemaVersion = loaded.meta.sourceSchemaVersion ?? 2;
    const next: CurrentPolicy = { document: loaded.document, snapshot, encoded, text, sourceSchemaVersion, hash, generation, source, loadedAt, warnings };
    this.currentPolicy = next;
    this.lastGeneration = generation;
    // Any change ends the hold of restoreInherited, except the restore itself (a take-over).
    if (!takeOver) this.heldProviderHash = null;
    const delivery = takeOver ? Promise.resolve() : this.publish(next);
    logger.info({
      source, generation, hash, ...stampField(loaded.document.identificationStamp), users: snapshot.users.size, warnings: warnings.length, resumed: takeOver,
    }, takeOver ? 'policy loaded (already enforced by the gateway)' : 'policy applied');
    for (const warning of warnings.slice(0, LOGGED_ISSUES)) logger.warn({ source, issue: formatIssue(warning) }, 'policy warning');
    for (const listener of this.listeners) {
      try {
        listener(previous, next);
      } catch (err) {
        logger.error({ err: describeError(err) }, 'policy listener failed');
      }
    }
    return { kind: 'applied', policy: next, delivery };
  }

  /**
   * Sends the snapshot and what the supervisor retains with it: the text only for a push, since a
   * provider reloads its own policy after a restart (and the text can be 256 MiB of credentials).
   */
  private publish(policy: CurrentPolicy): Promise<void> {
    const retained: RetainedPolicy = {
      pushedText: policy.source === API_POLICY_SOURCE ? UTF8_ENCODER.encode(policy.text) : null,
      source: policy.source,
      providerHash: this.providerHash,
    };
    try {
      return Promise.resolve(this.options.publish({ generation: policy.generation, hash: policy.hash, bytes: policy.encoded }, retained));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Records and logs a refusal; `identificationStamp`: the refused policy's, when it could be read. */
  private refuse(source: string, options: SetOptions, stage: PolicyRejection['stage'], errors: PolicyIssue[], warnings: PolicyIssue[], errorCount: number,
    identificationStamp: string | null = null): SetOutcome {
    const rejection: PolicyRejection = { at: this.now(), source, stage, errors, warnings, errorCount };
    this.rejection = rejection;
    this.options.logger.error({
      source, ...stampField(identificationStamp), stage, errorCount, errors: errors.slice(0, LOGGED_ISSUES).map(formatIssue),
    }, `policy refused; ${whatStaysInForce(this.currentPolicy, options.restartLoadsThis ?? false)}`);
    return { kind: 'invalid', rejection };
  }
}

/**
 * The end of an error message about a policy that could not be taken: what the gateway goes on
 * enforcing. Before the first policy there is none, and every request is answered 503; "the
 * current policy stays in force" would hide that (operator review 14). `restartLoadsThis`: what
 * could not be taken is the only copy a restart would load, so the policy in force would not
 * survive one; say so, since "stays in force" alone reassures (operator review 19, finding 6).
 */
export function whatStaysInForce(current: CurrentPolicy | null, restartLoadsThis = false): string {
  if (current === null) return 'no policy is in force yet (the gateway answers 503)';
  return restartLoadsThis ? `the current policy stays in force, but ${RESTART_WITHOUT_POLICY}` : 'the current policy stays in force';
}

/** What a restart would do while the only copy of the policy on disk (or at the origin) is refused. */
export const RESTART_WITHOUT_POLICY = 'a restart now would start without a policy (the gateway would answer 503)';

/**
 * The `identificationStamp` log field, named as in `GET /_matrix/corporal/status`, or nothing when
 * the policy has none: operators who version their policies see which version went live or was
 * refused (operator review 19, finding 11).
 */
function stampField(stamp: string | null): { identificationStamp?: string } {
  if (stamp === null) return {};
  // The schema sets no length: a log line carries at most the start of a long one.
  return { identificationStamp: stamp.length > MAX_LOGGED_STAMP ? `${stamp.slice(0, MAX_LOGGED_STAMP)}…` : stamp };
}

/** The longest `identificationStamp` a log line carries whole (a version, a commit id, a date). */
const MAX_LOGGED_STAMP = 200;

/** An accepted policy whose snapshot hand-over (`delivery`) and persisters are still to be awaited. */
interface Prepared {
  kind: 'applied' | 'unchanged';
  policy: CurrentPolicy;
  delivery: Promise<void>;
}

/** One line describing a refusal: the first error and how many more there are. */
export function describeRejection(rejection: PolicyRejection): string {
  return summariseErrors(rejection.errors, rejection.errorCount);
}
