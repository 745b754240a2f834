/** Where a room alias points: the room and the servers the directory names for joining it. */
export interface AliasTarget {
  readonly roomId: string;
  readonly servers: readonly string[];
}

/**
 * Resolves a room alias for the check of a request acting as `requester` (whose reads it counts
 * against): null when the alias does not exist; rejects on failure.
 */
export type AliasLookup = (alias: string, requester: string) => Promise<AliasTarget | null>;

/**
 * A room-alias resolver for the join/knock checks: `lookup` with single-flight (concurrent checks
 * of one alias share one look-up). Answers are not kept beyond that: an alias can be re-pointed at
 * a managed room by any member of that room, and a reused answer would let a managed user in
 * whom the policy does not list (the red-team review joined that way within a 10 s cache). What
 * would be the moment between this look-up and Synapse's own, which the checks close by having the
 * join forwarded by the room id they checked (`pinnedRoom`). A failed look-up resolves to null,
 * which the checks refuse (fail closed). A shared look-up counts against the requester that started it.
 */
export function createAliasResolver(lookup: AliasLookup): (alias: string, requester: string) => Promise<AliasTarget | null> {
  const inFlight = new Map<string, Promise<AliasTarget | null>>();
  return (alias, requester) => {
    let pending = inFlight.get(alias);
    if (pending === undefined) {
      pending = lookup(alias, requester).then(
        (target) => target,
        () => null,
      ).finally(() => inFlight.delete(alias));
      inFlight.set(alias, pending);
    }
    return pending;
  };
}
