/**
 * Largest policy accepted from any source (HTTP pull, API push): 256 MiB. Policies with hundreds of
 * thousands of users run to tens of MiB; the bound stops a runaway or hostile body before it is
 * read whole. Text within it can still parse into far more heap than it is long: the policy store
 * measures that first (`policyHeapProblem`, policy/memory-estimate.ts).
 */
export const MAX_POLICY_BYTES = 256 * 1024 * 1024;
