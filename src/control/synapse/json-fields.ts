import { badResponse } from './synapse-errors.js';

/**
 * Small readers for Synapse's JSON answers: they accept the shapes Synapse has used across
 * versions and turn anything else into a `CORP_ERR_UPSTREAM_BAD_RESPONSE` naming the call.
 */

/** The answer as an object, or a bad-response error. */
export function objectOf(value: unknown, call: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badResponse(call, 'expected a JSON object');
  return value as Record<string, unknown>;
}

/** `record[key]` as an object (absent → `{}`), or a bad-response error. */
export function objectField(record: Record<string, unknown>, key: string, call: string): Record<string, unknown> {
  const value = record[key];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw badResponse(call, `"${key}" is not an object`);
  return value as Record<string, unknown>;
}

/** `record[key]` as an array, or a bad-response error. */
export function arrayField(record: Record<string, unknown>, key: string, call: string): unknown[] {
  const value = record[key];
  if (!Array.isArray(value)) throw badResponse(call, `"${key}" is not an array`);
  return value;
}

/** `record[key]` as a non-empty string, or a bad-response error. */
export function stringField(record: Record<string, unknown>, key: string, call: string): string {
  const value = record[key];
  if (typeof value !== 'string' || value === '') throw badResponse(call, `"${key}" is not a non-empty string`);
  return value;
}

/** A string value, with `null`/absent/non-string read as "". */
export function stringOrEmpty(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/**
 * A Synapse flag (`admin`, `is_guest`, `locked`, `deactivated`): Synapse has sent these as 0/1
 * integers and, since 1.97, as booleans. matrix-corporal broke when the type changed (its
 * issue #30), so both are accepted; absent or null is false.
 */
export function flag(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  return false;
}
