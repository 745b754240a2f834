import type { PolicyProviderConfig } from '../common/config/types.js';
import { describeError, hasErrorCode } from '../common/errors.js';
import { compilePolicy } from '../policy/compile.js';
import { hashPolicy } from '../policy/hash.js';
import type { PolicyIssue } from '../policy/issues.js';
import { loadPolicyText } from '../policy/load.js';
import { policyHeapProblem, processHeapLimitBytes } from '../policy/memory-estimate.js';
import type { PolicySnapshot } from '../policy/snapshot.js';
import { readBoundedFile } from '../common/bounded-file.js';
import { MAX_POLICY_BYTES } from '../control/policy-limits.js';

/** What {@link readPolicyFile} found. */
export type PolicyFileResult =
  | { kind: 'missing'; message: string }
  | { kind: 'unreadable'; message: string }
  | { kind: 'invalid'; errors: PolicyIssue[]; warnings: PolicyIssue[]; errorCount: number }
  | { kind: 'valid'; snapshot: PolicySnapshot; warnings: PolicyIssue[] };

/**
 * Reads, validates (against `homeserverDomain`) and compiles a policy file, as the control child
 * would (generation 0: nothing is published; an entry for `corporalUserId` is left out with a
 * warning).
 */
export async function readPolicyFile(path: string, homeserverDomain: string, corporalUserId: string): Promise<PolicyFileResult> {
  let text: string;
  try {
    text = await readBoundedFile(path, MAX_POLICY_BYTES);
  } catch (err) {
    return { kind: hasErrorCode(err, 'ENOENT') ? 'missing' : 'unreadable', message: describeError(err) };
  }
  const heapProblem = policyHeapProblem(text, processHeapLimitBytes());
  if (heapProblem !== null) return { kind: 'invalid', errors: [heapProblem], warnings: [], errorCount: 1 };
  const result = loadPolicyText(text, { homeserverDomain, corporalUserId });
  if (!result.ok) return { kind: 'invalid', errors: result.errors, warnings: result.warnings, errorCount: result.errorCount };
  const hash = hashPolicy(result.document);
  const snapshot = compilePolicy(result.document, { generation: 0, hash, loadedAt: Date.now(), source: `file:${path}`, corporalUserId });
  return { kind: 'valid', snapshot, warnings: result.warnings };
}

/**
 * The file holding the configured provider's policy without starting the provider: `static_file`'s
 * `Path`, the `http` provider's `CachePath` (its copy of the last valid remote policy) or
 * `last_seen_store_policy`'s `CachePath`, with the key that names it. A string explains why there
 * is none.
 */
export function configuredPolicyFile(provider: PolicyProviderConfig): { path: string; key: string } | { error: string } {
  const key = provider.Type === 'static_file' ? 'Path' : 'CachePath';
  const path = provider[key];
  if (typeof path === 'string' && path !== '') return { path, key: `PolicyProvider.${key}` };
  return { error: `PolicyProvider (${provider.Type}) has no ${key} to read a policy from; pass --policy FILE` };
}
