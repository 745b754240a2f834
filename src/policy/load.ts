import { FindingsCollector } from './findings.js';
import type { PolicyIssue } from './issues.js';
import { normalisePolicyInto, sourcePointer, type NormaliseMeta } from './normalise.js';
import { parsePolicyTextInto } from './parse.js';
import type { PolicyDocument } from './types.js';
import { validatePolicyInto, type ValidateOptions } from './validate.js';

/** Outcome of {@link loadPolicyText} / {@link loadPolicyValue}. */
export type LoadResult =
  | { ok: true; document: PolicyDocument; meta: NormaliseMeta; warnings: PolicyIssue[] }
  | {
    ok: false;
    /** `syntax`: not JSON, or JSON that is not an object (no policy at all); `validation`: not a valid policy. */
    stage: 'syntax' | 'validation';
    errors: PolicyIssue[];
    warnings: PolicyIssue[];
    /** How many errors were found; `errors` keeps at most `MAX_REPORTED_ISSUES` of them. */
    errorCount: number;
    /** The refused policy's `identificationStamp`, when it could be read (a string; `validation` stage only), for the log. */
    identificationStamp?: string;
  };

/**
 * The whole front half of a policy change: parse (tolerant of trailing commas) → normalise →
 * validate (with `options.corporalUserId`, an entry for it is warned about). On success the
 * document is ready for `hashPolicy` and `compilePolicy`. Pointers in the findings refer to the
 * document as written (see `sourcePointer`). At most `MAX_REPORTED_ISSUES` errors and as many
 * warnings are listed, the stages' issues in that order; a last entry counts the rest. Pure.
 */
export function loadPolicyText(text: string, options: ValidateOptions): LoadResult {
  const findings = new FindingsCollector();
  const parsed = parsePolicyTextInto(text, findings.warnings);
  if (!parsed.ok) return { ok: false, stage: 'syntax', errors: [parsed.error], warnings: [], errorCount: 1 };
  return loadParsed(parsed.value, findings, options);
}

/** {@link loadPolicyText} for an already-parsed JSON value. */
export function loadPolicyValue(value: unknown, options: ValidateOptions): LoadResult {
  return loadParsed(value, new FindingsCollector(), options);
}

function loadParsed(value: unknown, findings: FindingsCollector, options: ValidateOptions): LoadResult {
  // JSON that is not an object cannot be decoded into a policy at all: a syntax-stage refusal, as
  // matrix-corporal's decoder failed on it (`M_BAD_JSON` at the API, not `M_INVALID_PARAM`).
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, stage: 'syntax', errors: [{ pointer: '', message: 'the policy must be a JSON object' }], warnings: findings.report().warnings, errorCount: 1 };
  }
  // One collector for every stage: the bound holds for all of them together, as the report does.
  const { document, meta } = normalisePolicyInto(value, findings);
  validatePolicyInto(document, options, findings.withPointers((pointer) => sourcePointer(meta, pointer)));
  const { errors, warnings, errorCount } = findings.report();
  if (errors.length > 0) {
    // Normalised from an unvalidated value: only a string is a stamp worth naming.
    const stamp: unknown = document.identificationStamp;
    return { ok: false, stage: 'validation', errors, warnings, errorCount, ...(typeof stamp === 'string' ? { identificationStamp: stamp } : {}) };
  }
  return { ok: true, document, meta, warnings };
}
