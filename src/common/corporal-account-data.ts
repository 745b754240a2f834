/**
 * The account-data namespaces that belong to Corporal: the reconciler records there what it did to
 * an account (`io.corporal.password`, and matrix-corporal's avatar-source hashes under
 * `com.devture.matrix.corporal.`), and trusts what it reads back. Clients have no business
 * writing there, so the gateway refuses their writes of global account data of those types
 * (checks/account-checks.ts; the reconciler reads only global records); the reconciler writes
 * straight to Synapse and is not affected.
 */
export const CORPORAL_ACCOUNT_DATA_PREFIXES: readonly string[] = Object.freeze(['io.corporal.', 'com.devture.matrix.corporal.']);

/** True when the (decoded, case-sensitive as in Synapse) account-data type is in a Corporal namespace. */
export function isCorporalAccountDataType(type: string): boolean {
  return CORPORAL_ACCOUNT_DATA_PREFIXES.some((prefix) => type.startsWith(prefix));
}
