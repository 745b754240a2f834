import type { ConfigIssue } from '../common/config/index.js';
import type { Logger } from '../common/logger.js';

/** Formats configuration problems one per line: `  HttpGateway.TimeoutMilliseconds: message`. */
export function formatConfigIssues(issues: readonly ConfigIssue[]): string {
  return issues.map((issue) => `  ${issue.path === '' ? '(file)' : issue.path}: ${issue.message}`).join('\n');
}

/**
 * Logs each configuration warning with its key: at INFO when the loader marked it as a note
 * (matrix-corporal logs those at INFO, and alerts on WARN and above must not fire on them), else
 * at WARN.
 */
export function logConfigWarnings(logger: Logger, warnings: readonly ConfigIssue[]): void {
  for (const warning of warnings) {
    if (warning.level === 'info') logger.info({ key: warning.path }, warning.message);
    else logger.warn({ key: warning.path }, warning.message);
  }
}
