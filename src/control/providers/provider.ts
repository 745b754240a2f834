import type { ProviderType } from '../../common/config/index.js';
import { describeRejection, type PolicyInput, type PolicyStore, type SetOptions, type SetOutcome } from '../policy-store.js';

/**
 * A policy provider: where the policy comes from (matrix-corporal's `PolicyProvider`).
 *
 * Unlike matrix-corporal, `start()` never fails because the first policy cannot be loaded: the
 * child keeps running without a policy (the gateway answers 503), keeps watching or retrying, and
 * reports the problem in {@link status}. A crash loop would help nobody.
 */
export interface PolicyProvider {
  readonly type: ProviderType;
  /** Initial load, then watching / polling. Resolves once the initial attempt is over. */
  start(): Promise<void>;
  /** Loads fresh data from the origin (never from a cache). Resolves when done; never rejects. */
  reload(): Promise<void>;
  /** Stops watching / polling and aborts what is in flight. Idempotent. */
  stop(): Promise<void>;
  status(): ProviderStatus;
}

/** What a provider reports for `GET /_matrix/corporal/status`. */
export interface ProviderStatus {
  type: ProviderType;
  /** Epoch ms of the last success: a load the store accepted or found unchanged (last_seen: a save). */
  lastSuccessAt: number | null;
  /** The last failure, cleared by the next successful load. */
  lastError: { at: number; message: string } | null;
}

/** Tracks a provider's last success and failure for {@link ProviderStatus}. */
export class ProviderHealth {
  private lastSuccessAt: number | null = null;
  private lastError: { at: number; message: string } | null = null;

  constructor(private readonly type: ProviderType, private readonly now: () => number = Date.now) {}

  /** Records a successful load. */
  succeeded(): void {
    this.lastSuccessAt = this.now();
    this.lastError = null;
  }

  /** Records a failure; `message` must not contain secrets. */
  failed(message: string): void {
    this.lastError = { at: this.now(), message };
  }

  /**
   * The condition `message` described has ended: if it is still the current error, the error
   * before it (`previous`, which may still hold, or null) is current again.
   */
  withdrawn(message: string, previous: { at: number; message: string } | null): void {
    if (this.lastError?.message === message) this.lastError = previous;
  }

  status(): ProviderStatus {
    return { type: this.type, lastSuccessAt: this.lastSuccessAt, lastError: this.lastError };
  }
}

/**
 * The content hash of what a provider delivered, for an accepted outcome: the policy in force, or,
 * when the store held the delivery back (a restored push stays in force), the delivered content's.
 */
export function deliveredHash(outcome: Exclude<SetOutcome, { kind: 'invalid' }>): string {
  return outcome.kind === 'held' ? outcome.providerHash : outcome.policy.hash;
}

/**
 * Offers a policy to the store (with `options`, see {@link SetOptions}) and records the outcome in
 * `health`; returns the outcome. A refused policy has already been logged by the store.
 */
export async function offerPolicy(store: PolicyStore, health: ProviderHealth, input: PolicyInput, source: string, options: SetOptions = {}): Promise<SetOutcome> {
  const outcome = await store.set(input, source, options);
  if (outcome.kind === 'invalid') health.failed(`policy from ${source} refused: ${describeRejection(outcome.rejection)}`);
  else health.succeeded();
  return outcome;
}
