import { countedClientKey } from './login/check-origin.js';
import type { TrustedProxies } from './upstream/forwarded-for.js';

/** One client address may hold at most 1/n of its thread's buffer budget (red team 17, F4). */
export const CLIENT_BUFFER_SHARE_DIVISOR = 8;

/**
 * The bytes of a thread's buffer budget (`HttpGateway.MaxBufferedBytesPerThread`) each client
 * address (an IPv6 /64) holds, bounded at an eighth of the budget. Without it one unauthenticated
 * client sending incomplete 1 MiB logins over a few hundred connections spent the whole budget,
 * and other clients' logins (and every check that reads a body) got 503 (red team 17, F4).
 * Requests from a trusted proxy that names no client are not counted here (their clients cannot
 * be told apart). One per gateway thread.
 */
export class ClientBufferShares {
  readonly #held = new Map<string, number>();

  /**
   * `budgetBytes`: the thread's whole budget; each client gets 1/{@link CLIENT_BUFFER_SHARE_DIVISOR}
   * of it, but never less than four bodies of `maxBodyBytes` (`HttpGateway.MaxInspectedBodyBytes`)
   * while the budget has room for them, so that a small budget cannot refuse one client's single
   * large body.
   */
  constructor(budgetBytes: number, maxBodyBytes: number, private readonly trustedProxies: TrustedProxies) {
    this.limitBytes = Math.max(Math.floor(budgetBytes / CLIENT_BUFFER_SHARE_DIVISOR), Math.min(budgetBytes, 4 * maxBodyBytes));
  }

  /** The most one client may hold. */
  readonly limitBytes: number;

  /** The key a request's bytes count under, or null when they are not counted (see the class comment). */
  keyOf(headers: readonly string[], peer: string): string | null {
    return countedClientKey(headers, peer, this.trustedProxies);
  }

  /** Takes `bytes` for `key` if its share allows; false (and nothing taken) otherwise. */
  tryTake(key: string, bytes: number): boolean {
    const held = this.#held.get(key) ?? 0;
    if (held + bytes > this.limitBytes) return false;
    this.#held.set(key, held + bytes);
    return true;
  }

  /** Gives back `bytes` taken for `key`; the key is forgotten once it holds nothing. */
  give(key: string, bytes: number): void {
    const left = (this.#held.get(key) ?? 0) - bytes;
    if (left > 0) this.#held.set(key, left);
    else this.#held.delete(key);
  }

  /** Bytes `key` holds now. */
  heldBy(key: string): number {
    return this.#held.get(key) ?? 0;
  }
}
