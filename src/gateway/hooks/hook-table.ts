import type { HookEventType, PolicySnapshot, SnapshotHook, SnapshotHooks } from '../../policy/snapshot.js';
import { HOOK_EVENT_TYPES } from '../../policy/vocabulary.js';
import { compileHookMatcher, passesMethodRules, passesRequestRules, type CompiledHook, type MatchSubject } from './hook-matcher.js';

/**
 * The hooks that may fire for a list of event types and one method: per event type (same order),
 * the hooks whose `method` rules pass, in policy order. Only route and user rules are left to test.
 */
export interface HookCandidates {
  readonly chains: readonly (readonly CompiledHook[])[];
}

/** Per event type (same order as asked), the hooks that matched a request, in policy order. */
export type MatchedChains = readonly (readonly SnapshotHook[])[];

/** Methods whose candidate lists are cached; any other method is filtered per request (bounded memory). */
const CACHED_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);
/** Distinct event-type lists cached per table; callers pass module constants, so a handful in practice. */
const MAX_CACHED_EVENT_LISTS = 32;

/**
 * A snapshot's hooks compiled for one thread: matchers built once, and candidate lists per
 * (event-type list, method) computed on first use and kept, so that a route with no possible hook
 * costs one `Map` look-up per request, and the rest only the route/user regexes of real candidates.
 */
export class HookTable {
  private readonly byType: ReadonlyMap<HookEventType, readonly CompiledHook[]>;
  /** The snapshot has no hook at all (the common case): every look-up is answered without a cache. */
  private readonly empty: boolean;
  private readonly cache = new Map<readonly HookEventType[], Map<string, HookCandidates | null>>();

  constructor(hooks: SnapshotHooks) {
    const byType = new Map<HookEventType, readonly CompiledHook[]>();
    for (const eventType of HOOK_EVENT_TYPES) byType.set(eventType, hooks[eventType].map(compileHookMatcher));
    this.byType = byType;
    this.empty = HOOK_EVENT_TYPES.every((eventType) => hooks[eventType].length === 0);
  }

  /** Whether some hook of `before` or `after` can fire for `method` (cached as {@link candidates}). */
  mayFire(before: readonly HookEventType[], after: readonly HookEventType[], method: string): boolean {
    return !this.empty && (this.candidates(before, method) !== null || this.candidates(after, method) !== null);
  }

  /**
   * The candidates for `eventTypes` (in that order) and `method`, or null when no hook of those
   * types can fire for that method. Cached by the identity of `eventTypes`: pass constant arrays.
   */
  candidates(eventTypes: readonly HookEventType[], method: string): HookCandidates | null {
    if (this.empty) return null;
    let byMethod = this.cache.get(eventTypes);
    if (byMethod === undefined) {
      if (this.cache.size >= MAX_CACHED_EVENT_LISTS) return this.computeCandidates(eventTypes, method);
      byMethod = new Map();
      this.cache.set(eventTypes, byMethod);
    }
    const cached = byMethod.get(method);
    if (cached !== undefined) return cached;
    const computed = this.computeCandidates(eventTypes, method);
    if (CACHED_METHODS.has(method)) byMethod.set(method, computed);
    return computed;
  }

  private computeCandidates(eventTypes: readonly HookEventType[], method: string): HookCandidates | null {
    const chains = eventTypes.map((eventType) => (this.byType.get(eventType) ?? []).filter((hook) => passesMethodRules(hook, method)));
    return chains.some((chain) => chain.length > 0) ? { chains } : null;
  }
}

/** Per event type, the candidates whose route and user rules pass for `subject`; null when none does. */
export function matchCandidates(candidates: HookCandidates, subject: MatchSubject): MatchedChains | null {
  let matched: SnapshotHook[][] | null = null;
  const chains = candidates.chains;
  for (let i = 0; i < chains.length; i++) {
    for (const hook of chains[i]!) {
      if (!passesRequestRules(hook, subject)) continue;
      matched ??= chains.map(() => []);
      matched[i]!.push(hook.hook);
    }
  }
  return matched;
}

/**
 * The hook tables of one gateway thread, one per snapshot, built on first use and dropped with
 * the snapshot (weakly held: a swapped-out snapshot's table goes once no request pins it).
 */
export class HookTables {
  private readonly tables = new WeakMap<PolicySnapshot, HookTable>();

  /** The table of `snapshot`. */
  tableFor(snapshot: PolicySnapshot): HookTable {
    let table = this.tables.get(snapshot);
    if (table === undefined) {
      table = new HookTable(snapshot.hooks);
      this.tables.set(snapshot, table);
    }
    return table;
  }
}
