import { FindingsCollector } from './findings.js';
import type { PolicyIssue } from './issues.js';
import { normalisePolicyInto, sourcePointer, type NormaliseMeta } from './normalise.js';
import { parsePolicyTextInto } from './parse.js';
import type { PolicyDocument } from './types.js';
import { validatePolicyInto, type ValidateOptions } from './validate.js';

/** Outcome of {@link loadPolicyText} / {@link loadPolicyValue}. */
export type LoadResult =
  | { ok: true; document: PolicyDocument; meta: NormaliseMeta; warnings: PolicyIssue[] }
  | { ok: false; errors: PolicyIssue[]; warnings: PolicyIssue[] };

/**
 * The whole front half of a policy change: parse (tolerant of trailing commas) → normalise →
 * validate. On success the document is ready for `hashPolicy` and `compilePolicy`. Pointers in the
 * findings refer to the document as written (see `sourcePointer`). At most `MAX_REPORTED_ISSUES`
 * errors and as many warnings are listed, the stages' issues in that order; a last entry counts
 * the rest. Pure.
 */
export function loadPolicyText(text: string, options: ValidateOptions): LoadResult {
  const findings = new FindingsCollector();
  const parsed = parsePolicyTextInto(text, findings.warnings);
  if (!parsed.ok) return { ok: false, errors: [parsed.error], warnings: [] };
  return loadParsed(parsed.value, findings, options);
}

/** {@link loadPolicyText} for an already-parsed JSON value (an HTTP API push, say). */
export function loadPolicyValue(value: unknown, options: ValidateOptions): LoadResult {
  return loadParsed(value, new FindingsCollector(), options);
}

function loadParsed(value: unknown, findings: FindingsCollector, options: ValidateOptions): LoadResult {
  // One collector for every stage: the bound holds for all of them together, as the report does.
  const { document, meta } = normalisePolicyInto(value, findings);
  validatePolicyInto(document, options, findings.withPointers((pointer) => sourcePointer(meta, pointer)));
  const { errors, warnings } = findings.report();
  if (errors.length > 0) return { ok: false, errors, warnings };
  return { ok: true, document, meta, warnings };
}
