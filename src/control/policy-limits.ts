/**
 * Largest policy accepted from any source (HTTP pull, API push): 256 MiB. Policies with hundreds of
 * thousands of users run to tens of MiB; the bound only stops a runaway or hostile body from
 * exhausting the control child's memory.
 */
export const MAX_POLICY_BYTES = 256 * 1024 * 1024;
