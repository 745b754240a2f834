import type { PolicySnapshot } from '../policy/snapshot.js';

/**
 * The policy snapshot a gateway thread currently enforces.
 *
 * A request pins `current` at its start, so a policy swap never changes the rules halfway through
 * a phase; a phase that decides only once the body is complete moves the request to the newest
 * (`RequestContext.refreshSnapshot`). `null` until the first policy arrives: the gateway then
 * fails closed (503), as matrix-corporal does.
 */
export class PolicyHolder {
  constructor(private snapshot: PolicySnapshot | null = null) {}

  /** The snapshot to pin for a new request, or null before the first policy. */
  get current(): PolicySnapshot | null {
    return this.snapshot;
  }

  /** Swaps in `next` if it is newer than the current one; returns whether it did. */
  offer(next: PolicySnapshot): boolean {
    if (this.snapshot !== null && next.generation <= this.snapshot.generation) return false;
    this.snapshot = next;
    return true;
  }
}
