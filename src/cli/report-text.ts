import { formatIssue, type PolicyIssue } from '../policy/issues.js';

export { plural } from '../common/plural.js';

/** Policy issues one per line, indented, each with its pointer (and line:column when known). */
export function formatIssues(issues: readonly PolicyIssue[]): string {
  return issues.map((issue) => `  ${formatIssue(issue)}\n`).join('');
}

