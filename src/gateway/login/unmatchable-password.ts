import { randomBytes } from 'node:crypto';

/**
 * 64 hex digits of fresh randomness, forwarded in place of a password the gateway refused: it
 * never matches the derived password (128 digits) nor a stored one, so Synapse fails the attempt
 * itself and its failed-attempt rate limiting (`rc_login.failed_attempts`) counts it. Forwarding
 * the typed wrong password instead is not safe: it could be the account's Synapse password from
 * before the user was managed.
 */
export function unmatchablePassword(): string {
  return randomBytes(32).toString('hex');
}
