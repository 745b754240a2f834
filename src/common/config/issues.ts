import type { CorporalConfig } from './types.js';

/**
 * One problem found in a configuration. `path` names the key with canonical (matrix-corporal)
 * spelling, dots between sections and `[i]` for list items (`HttpGateway.TimeoutMilliseconds`,
 * `HttpGateway.InternalRESTAuth.IPNetworkWhitelist[2]`); `""` means the whole document or file.
 * `message` is a complete sentence for an operator and never contains a secret value.
 */
export interface ConfigIssue {
  path: string;
  message: string;
  /** Warnings only: `info` when matrix-corporal logs the condition at INFO (a note, not a risk). */
  level?: 'info';
}

/**
 * Outcome of loading a configuration. On success `config` is fully defaulted and validated; on
 * failure `errors` lists every problem at once (matrix-corporal stops at the first one).
 */
export type ConfigResult =
  | { ok: true; config: CorporalConfig; warnings: ConfigIssue[] }
  | { ok: false; errors: ConfigIssue[]; warnings: ConfigIssue[] };

/** Appends a key to an issue path. */
export function joinPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

/** The subject of a message about `path` (the whole document when the path is empty). */
export function subjectOf(path: string): string {
  return path === '' ? 'The configuration' : path;
}

/** True when `path` is `ancestor` itself or lies below it. */
export function isPathWithin(path: string, ancestor: string): boolean {
  if (ancestor === '' || path === ancestor) return true;
  return path.startsWith(`${ancestor}.`) || path.startsWith(`${ancestor}[`);
}

/** The standard type-mismatch message: `X is expected to be an integer, got a string`. */
export function typeMismatchMessage(path: string, expected: string, got: string): string {
  return `${subjectOf(path)} is expected to be ${expected}, got ${got}`;
}

/** How a JSON value is named in messages (its kind only: values may be secrets). */
export function describeJsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string': return 'a string';
    case 'boolean': return 'a boolean';
    case 'number': return Number.isInteger(value) ? 'an integer' : 'a number with a fraction';
    case 'object': return 'an object';
    default: return typeof value;
  }
}
