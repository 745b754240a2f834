import { matchRuleRegExp } from '../../policy/compile-hook.js';
import type { SnapshotHook, SnapshotMatchRule } from '../../policy/snapshot.js';

/** A match rule with its regex built (once per snapshot and thread). */
export interface CompiledRule {
  readonly regex: RegExp;
  readonly invert: boolean;
}

/** A policy hook with its match rules built and split by what they test. */
export interface CompiledHook {
  readonly hook: SnapshotHook;
  readonly methodRules: readonly CompiledRule[];
  readonly routeRules: readonly CompiledRule[];
  readonly userRules: readonly CompiledRule[];
}

/**
 * Builds a hook's matchers. Called once per hook per snapshot per thread (never per request): the
 * snapshot carries the regexes as translated sources, `matchRuleRegExp` turns them into `RegExp`s.
 * Translated patterns carry no `g`/`y` flag, so `test` keeps no state between requests.
 */
export function compileHookMatcher(hook: SnapshotHook): CompiledHook {
  const methodRules: CompiledRule[] = [];
  const routeRules: CompiledRule[] = [];
  const userRules: CompiledRule[] = [];
  for (const rule of hook.matchRules) {
    const compiled = compileRule(rule);
    if (rule.type === 'method') methodRules.push(compiled);
    else if (rule.type === 'route') routeRules.push(compiled);
    else userRules.push(compiled);
  }
  return { hook, methodRules, routeRules, userRules };
}

function compileRule(rule: SnapshotMatchRule): CompiledRule {
  return { regex: matchRuleRegExp(rule), invert: rule.invert };
}

/**
 * Whether every `method` rule of the hook passes for `method` (as the client sent it). A `HEAD`
 * request passes a rule that `HEAD` or `GET` passes: Synapse runs the GET handler for HEAD (and the
 * router and the policy checks treat it as GET), so a `^GET$` rule must cover it, while a rule
 * written for `^HEAD$` keeps working. matrix-corporal tested `HEAD` only.
 */
export function passesMethodRules(hook: CompiledHook, method: string): boolean {
  if (method !== 'HEAD') return allPass(hook.methodRules, method);
  for (const rule of hook.methodRules) {
    if (!passes(rule, 'HEAD') && !passes(rule, 'GET')) return false;
  }
  return true;
}

/** What `route` and `matrixUserID` rules test; `routePaths` is read only when a route rule needs it. */
export interface MatchSubject {
  /**
   * The path without the query, percent-decoded except `%2F` (kept encoded, so it separates no
   * segment, as in Synapse's routing), first, then its other spellings under the prefixes Synapse
   * serves the same endpoint at (equivalent-paths.ts). matrix-corporal matched the fully decoded
   * `URL.Path`, and that path only.
   */
  readonly routePaths: readonly string[];
  /** The authenticated user, or null. */
  readonly userId: string | null;
}

/** Whether every `route` and every `matrixUserID` rule of the hook passes for `subject`. */
export function passesRequestRules(hook: CompiledHook, subject: MatchSubject): boolean {
  return (hook.routeRules.length === 0 || allRoutesPass(hook.routeRules, subject.routePaths)) && allPass(hook.userRules, subject.userId);
}

/**
 * Route rules: a rule's regex matches the request when it matches one spelling of its path, and an
 * inverted rule passes only when it matches none (the endpoint is the same under each spelling).
 */
function allRoutesPass(rules: readonly CompiledRule[], paths: readonly string[]): boolean {
  for (const rule of rules) {
    if (matchesAny(rule.regex, paths) === rule.invert) return false;
  }
  return true;
}

function matchesAny(regex: RegExp, subjects: readonly string[]): boolean {
  for (const subject of subjects) {
    if (regex.test(subject)) return true;
  }
  return false;
}

/**
 * All rules pass (AND); `invert` flips one rule. A rule whose subject is missing (`matrixUserID`
 * without an authenticated user) does not match, so it passes only when inverted. matrix-corporal
 * let such a rule pass, so a hook meant "only for @admin:…" also ran for anonymous requests, and
 * its inverted form ("everyone but @admin:…") never did; that is its quirk 11, fixed here.
 */
function allPass(rules: readonly CompiledRule[], subject: string | null): boolean {
  for (const rule of rules) {
    if (!passes(rule, subject)) return false;
  }
  return true;
}

/** One rule: its regex matches `subject` (never a missing one), or, inverted, does not. */
function passes(rule: CompiledRule, subject: string | null): boolean {
  const matched = subject !== null && rule.regex.test(subject);
  return matched !== rule.invert;
}
