import type { ConfigIssue } from '../common/config/index.js';

/** Formats configuration problems one per line: `  HttpGateway.TimeoutMilliseconds: message`. */
export function formatConfigIssues(issues: readonly ConfigIssue[]): string {
  return issues.map((issue) => `  ${issue.path === '' ? '(file)' : issue.path}: ${issue.message}`).join('\n');
}
