/**
 * One finding about a policy: an error (the policy is refused) or a warning (it loads anyway).
 *
 * `pointer` is an RFC 6901 JSON pointer into the document as written (canonical key spelling:
 * `/users/3/authCredential` even when the file says `AuthCredential`); `''` is the whole document.
 * Syntax findings also carry the 1-based `line` and `column` (UTF-16 code units) in the text.
 */
export interface PolicyIssue {
  pointer: string;
  message: string;
  line?: number;
  column?: number;
}

/** Errors and warnings of one stage; the policy is valid when `errors` is empty. */
export interface PolicyFindings {
  errors: PolicyIssue[];
  warnings: PolicyIssue[];
}

/** `pointer` extended by one reference token, escaped as RFC 6901 requires. */
export function childPointer(pointer: string, token: string | number): string {
  if (typeof token === 'number') return `${pointer}/${token}`;
  return `${pointer}/${token.replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

/** One line per issue, `pointer: message` (or `line:column: message` for syntax findings). */
export function formatIssue(issue: PolicyIssue): string {
  const where = issue.line === undefined ? (issue.pointer === '' ? '(document)' : issue.pointer) : `${issue.line}:${issue.column ?? 1}`;
  const alsoPointer = issue.line !== undefined && issue.pointer !== '' ? ` (at ${issue.pointer})` : '';
  return `${where}: ${issue.message}${alsoPointer}`;
}

/**
 * One line for a refused policy: its first error ({@link formatIssue}) and how many more there
 * are (`errorCount` counts them all, `errors` may list fewer); `invalid policy` when none is listed.
 */
export function summariseErrors(errors: readonly PolicyIssue[], errorCount: number): string {
  const [first] = errors;
  const head = first === undefined ? 'invalid policy' : formatIssue(first);
  const more = errorCount - 1;
  return more > 0 ? `${head} (and ${more} more error${more === 1 ? '' : 's'})` : head;
}
