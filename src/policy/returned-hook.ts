import { compileHook } from './compile-hook.js';
import { FindingsCollector } from './findings.js';
import { childPointer, type PolicyIssue } from './issues.js';
import { isJsonObject } from '../common/json-object.js';
import { normaliseContext } from './normalise-fields.js';
import { normaliseHookBody } from './normalise-hook.js';
import type { SnapshotHook } from './snapshot.js';
import { checkHookBodyShape } from './schema.js';
import { validateHookBody } from './validate-hooks.js';

/** Outcome of {@link compileReturnedHook}. */
export type ReturnedHookResult =
  | { ok: true; hook: SnapshotHook; warnings: PolicyIssue[] }
  | { ok: false; errors: PolicyIssue[] };

/**
 * Turns the hook a REST service returned from a consultation (already parsed JSON) into a compiled
 * hook that runs at once, or says why it cannot run (the caller then treats the consultation as
 * failed, so the contingency hook or a 503 applies: fail closed).
 *
 * matrix-corporal executed returned hooks unvalidated; Corporal validates them as it validates
 * policy hooks. Their `eventType` is ignored (warning) and so are their `matchRules` (they run
 * immediately, so there is nothing to match, and no regex is compiled on this path). A missing
 * `id` becomes `<parentId>-unnamed-response`.
 */
export function compileReturnedHook(value: unknown, parentId: string): ReturnedHookResult {
  if (!isJsonObject(value)) return { ok: false, errors: [{ pointer: '', message: 'the REST service did not return a JSON object' }] };
  // The service's answer is bounded only by the gateway's body limit: its issues are bounded here.
  const findings = new FindingsCollector();
  const context = normaliseContext(findings);
  const body = normaliseHookBody(value, '', context);
  const hook = { ...body, matchRules: [], id: body.id === '' ? `${parentId}-unnamed-response` : body.id };
  checkHookBodyShape(hook, findings.errors);
  validateHookBody(hook as unknown as Record<string, unknown>, '', findings);
  if (!Array.isArray(body.matchRules) || body.matchRules.length > 0) findings.warnings.push({ pointer: childPointer('', 'matchRules'), message: 'matchRules of a returned hook are ignored' });
  const { errors, warnings } = findings.report();
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, hook: compileHook(hook, null), warnings };
}
