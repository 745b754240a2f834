import type { PolicySnapshot } from '../../policy/snapshot.js';

/** Each snapshot's hooks as one string, computed once (snapshots are immutable). */
const fingerprints = new WeakMap<PolicySnapshot, string>();

function fingerprintOf(snapshot: PolicySnapshot): string {
  let fingerprint = fingerprints.get(snapshot);
  if (fingerprint === undefined) {
    // Compiled hooks are plain data (rules keep their translated regex source), in policy order.
    fingerprint = JSON.stringify(snapshot.hooks);
    fingerprints.set(snapshot, fingerprint);
  }
  return fingerprint;
}

/**
 * Whether two snapshots' hooks differ in any way (definitions, order, event types). Identical
 * hooks under a new generation are the common case of a policy change (users or rooms changed):
 * requests decided on the old hooks need not be stopped then.
 */
export function hooksDiffer(a: PolicySnapshot, b: PolicySnapshot): boolean {
  return a !== b && fingerprintOf(a) !== fingerprintOf(b);
}
