import { formatIssue, type PolicyIssue } from '../policy/issues.js';

/** Policy issues one per line, indented, each with its pointer (and line:column when known). */
export function formatIssues(issues: readonly PolicyIssue[]): string {
  return issues.map((issue) => `  ${formatIssue(issue)}\n`).join('');
}

/** `3 errors`, `1 error`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
