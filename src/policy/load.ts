import type { PolicyFindings, PolicyIssue } from './issues.js';
import { normalisePolicy, sourcePointer, type NormaliseMeta } from './normalise.js';
import { parsePolicyText } from './parse.js';
import type { PolicyDocument } from './types.js';
import { validatePolicy, type ValidateOptions } from './validate.js';

/** At most this many errors (and, separately, warnings) are reported; a last entry counts the rest. */
export const MAX_REPORTED_ISSUES = 1000;

/** Outcome of {@link loadPolicyText} / {@link loadPolicyValue}. */
export type LoadResult =
  | { ok: true; document: PolicyDocument; meta: NormaliseMeta; warnings: PolicyIssue[] }
  | { ok: false; errors: PolicyIssue[]; warnings: PolicyIssue[] };

/**
 * The whole front half of a policy change: parse (tolerant of trailing commas) → normalise →
 * validate. On success the document is ready for `hashPolicy` and `compilePolicy`. Pointers in the
 * findings refer to the document as written (see `sourcePointer`). Pure.
 */
export function loadPolicyText(text: string, options: ValidateOptions): LoadResult {
  const parsed = parsePolicyText(text);
  if (!parsed.ok) return { ok: false, errors: [parsed.error], warnings: [] };
  return loadParsed(parsed.value, parsed.warnings, options);
}

/** {@link loadPolicyText} for an already-parsed JSON value (an HTTP API push, say). */
export function loadPolicyValue(value: unknown, options: ValidateOptions): LoadResult {
  return loadParsed(value, [], options);
}

function loadParsed(value: unknown, parseWarnings: PolicyIssue[], options: ValidateOptions): LoadResult {
  const normalised = normalisePolicy(value);
  const validated: PolicyFindings = validatePolicy(normalised.document, options);
  const relocate = (issue: PolicyIssue): PolicyIssue => ({ ...issue, pointer: sourcePointer(normalised.meta, issue.pointer) });
  const errors = capped([...normalised.errors, ...validated.errors.map(relocate)], 'errors');
  const warnings = capped([...parseWarnings, ...normalised.warnings, ...validated.warnings.map(relocate)], 'warnings');
  if (errors.length > 0) return { ok: false, errors, warnings };
  return { ok: true, document: normalised.document, meta: normalised.meta, warnings };
}

function capped(issues: PolicyIssue[], what: string): PolicyIssue[] {
  if (issues.length <= MAX_REPORTED_ISSUES) return issues;
  const rest = issues.length - MAX_REPORTED_ISSUES;
  return [...issues.slice(0, MAX_REPORTED_ISSUES), { pointer: '', message: `… and ${rest} more ${what}` }];
}
