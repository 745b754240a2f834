/**
 * The memory behind the internal REST auth endpoint's wrong-password counts
 * (gateway/internal-auth/failed-attempts.ts): one `BigInt64` per slot, shared by every gateway
 * thread. The supervisor creates it once and hands it to each thread it starts (`workerData`), a
 * restarted one included, so that the count survives and is not multiplied by the thread count.
 */

/** Slots of the table (a power of two): 512 KiB. */
export const FAILED_ATTEMPTS_SLOTS = 65_536;

/** A zeroed table of {@link FAILED_ATTEMPTS_SLOTS} slots, to share between threads. */
export function createFailedAttemptsTable(): SharedArrayBuffer {
  return new SharedArrayBuffer(FAILED_ATTEMPTS_SLOTS * BigInt64Array.BYTES_PER_ELEMENT);
}
