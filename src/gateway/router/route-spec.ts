import type { RouteId } from './route-ids.js';
import { unquote } from './unquote.js';

/** Picks the route id from the decoded params, for routes whose action depends on one. */
export type RouteIdResolver = (params: Readonly<Record<string, string>>) => RouteId;

/**
 * One route as Synapse registers it, written as a segment template over the path after the
 * prefix: `rooms/{roomId}/state/{eventType}/{stateKey}`. A literal segment must equal the raw
 * path segment byte for byte (Synapse matches its regex against the undecoded path, so
 * `lea%76e` is not `leave`); `{name}` stands for Synapse's `(?P<name>[^/]*)` — any one raw
 * segment, possibly empty — and becomes the param `name`, percent-decoded like Python's `unquote`.
 */
export interface RouteSpec {
  readonly template: string;
  /** Accepted methods (HEAD is matched as GET) → the route id, fixed or chosen from the params. */
  readonly methods: Readonly<Record<string, RouteId | RouteIdResolver>>;
  /** Params added to every match (e.g. `stateKey: ''` for the no-state-key form). */
  readonly fixedParams?: Readonly<Record<string, string>>;
  /** The Synapse 1.163.2 servlet this mirrors (`Class (file)`), or why it is an over-match. */
  readonly mirrors: string;
}

/** A {@link RouteSpec} prepared at module load. */
export interface CompiledRoute {
  /** Literal per segment, or null for a param segment. */
  readonly literals: readonly (string | null)[];
  /** Param name per segment, or null for a literal segment. */
  readonly names: readonly (string | null)[];
  readonly methods: Readonly<Record<string, RouteId | RouteIdResolver>>;
  readonly fixedParams: Readonly<Record<string, string>> | undefined;
}

/** A route id with its decoded params. */
export interface RouteHit {
  readonly id: RouteId;
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Families of routes keyed by their dispatch key (see {@link dispatchKey}), each in Synapse's
 * registration order.
 */
export type RouteFamilies = ReadonlyMap<string, readonly CompiledRoute[]>;

/**
 * The dispatch key of a split path: its first segment, or for `rooms/{roomId}/<x>/…` the string
 * `rooms/<x>` (the rooms family is the busiest and widest, so it is split once more).
 */
export function dispatchKey(segments: readonly string[]): string {
  const first = segments[0] ?? '';
  if (first === 'rooms') return `rooms/${segments[2] ?? ''}`;
  return first;
}

/** Compiles specs into families; throws on a malformed template (a bug caught at module load). */
export function compileRouteFamilies(specs: readonly RouteSpec[]): RouteFamilies {
  const families = new Map<string, CompiledRoute[]>();
  for (const spec of specs) {
    const segments = spec.template.split('/');
    const literals: (string | null)[] = [];
    const names: (string | null)[] = [];
    for (const segment of segments) {
      const param = /^\{([A-Za-z]+)\}$/.exec(segment);
      if (param) {
        literals.push(null);
        names.push(param[1] ?? '');
      } else if (segment === '' || /[{}]/.test(segment)) {
        throw new Error(`bad route template segment "${segment}" in ${spec.template}`);
      } else {
        literals.push(segment);
        names.push(null);
      }
    }
    // The dispatch key must be made of literals, or the family lookup could never find the route.
    const keySegments = segments.map((s, i) => literals[i] ?? `{${s}}`);
    const key = dispatchKey(keySegments);
    if (key.includes('{')) throw new Error(`route template ${spec.template} has a param in its dispatch key`);
    const compiled: CompiledRoute = Object.freeze({
      literals: Object.freeze(literals),
      names: Object.freeze(names),
      methods: spec.methods,
      fixedParams: spec.fixedParams,
    });
    const family = families.get(key);
    if (family) family.push(compiled);
    else families.set(key, [compiled]);
  }
  return families;
}

/**
 * The first route of `families` that matches the raw `segments` and accepts `method`.
 *
 * Unlike Synapse, a route whose path matches but whose method does not (Synapse's 405) does not
 * stop the search: later routes are still tried. This can only add matches, never lose one that
 * Synapse would execute.
 */
export function matchRoute(families: RouteFamilies, segments: readonly string[], method: string): RouteHit | null {
  const family = families.get(dispatchKey(segments));
  if (family === undefined) return null;
  for (const route of family) {
    const target = route.methods[method];
    if (target === undefined || !segmentsMatch(route, segments)) continue;
    const params = decodeParams(route, segments);
    return { id: typeof target === 'string' ? target : target(params), params };
  }
  return null;
}

function segmentsMatch(route: CompiledRoute, segments: readonly string[]): boolean {
  const literals = route.literals;
  if (literals.length !== segments.length) return false;
  for (let i = 0; i < literals.length; i++) {
    const literal = literals[i];
    if (literal !== null && literal !== segments[i]) return false;
  }
  return true;
}

function decodeParams(route: CompiledRoute, segments: readonly string[]): Readonly<Record<string, string>> {
  const params: Record<string, string> = route.fixedParams ? { ...route.fixedParams } : {};
  const names = route.names;
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (name !== null && name !== undefined) params[name] = unquote(segments[i] ?? '');
  }
  return params;
}
