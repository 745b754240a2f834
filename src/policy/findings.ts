import type { PolicyFindings, PolicyIssue } from './issues.js';

/** {@link PolicyFindings} as a bounded collector reports them, with how many there were in all. */
export interface CountedFindings extends PolicyFindings {
  /** Errors found, kept or only counted (≥ `errors.length` − 1: the last entry may be the summary). */
  errorCount: number;
  warningCount: number;
}

/** At most this many errors (and, separately, warnings) are reported; a last entry counts the rest. */
export const MAX_REPORTED_ISSUES = 1000;

/** Where a check puts the issues it finds. A plain array is one; the pipeline passes an {@link IssueList}. */
export interface IssueSink {
  push(issue: PolicyIssue): void;
  /**
   * True once a further issue is only counted: a producer may then push {@link COUNTED_ONLY}
   * instead of building a message that would be thrown away.
   */
  readonly full?: boolean;
}

/** The issue to push into a {@link IssueSink.full} sink: it is counted, never kept. */
export const COUNTED_ONLY: PolicyIssue = Object.freeze({ pointer: '', message: 'counted only' });

/** The error and warning sinks a check writes to ({@link PolicyFindings} arrays are one). */
export interface FindingsSink {
  readonly errors: IssueSink;
  readonly warnings: IssueSink;
}

/**
 * Keeps the first `limit` issues pushed, in order, and only counts the others.
 *
 * Why: a broken or hostile policy can have an issue per array element, millions of them in a few
 * MiB of text. Keeping every one before cutting the list exhausted the control child's heap (red
 * team 11, F2); with this list memory stays bounded whatever is pushed.
 */
export class IssueList implements IssueSink {
  private readonly kept: PolicyIssue[] = [];
  private pushed = 0;

  constructor(private readonly limit = MAX_REPORTED_ISSUES) {}

  /** Keeps `issue` while fewer than `limit` are kept; counts it in any case. */
  push(issue: PolicyIssue): void {
    this.pushed += 1;
    if (this.kept.length < this.limit) this.kept.push(issue);
  }

  /** How many issues were pushed, kept or not. */
  get count(): number {
    return this.pushed;
  }

  /** True once a further issue would only be counted. */
  get full(): boolean {
    return this.kept.length >= this.limit;
  }

  /** The kept issues, then, when some were only counted, one last entry `… and K more <what>`. */
  report(what: 'errors' | 'warnings'): PolicyIssue[] {
    const rest = this.pushed - this.kept.length;
    if (rest === 0) return [...this.kept];
    return [...this.kept, { pointer: '', message: `… and ${rest} more ${what}` }];
  }
}

/** An {@link IssueList} each for errors and warnings: what one run of the policy pipeline found. */
export class FindingsCollector implements FindingsSink {
  readonly errors: IssueList;
  readonly warnings: IssueList;

  constructor(limit = MAX_REPORTED_ISSUES) {
    this.errors = new IssueList(limit);
    this.warnings = new IssueList(limit);
  }

  /**
   * A sink onto this collector that rewrites each issue's pointer with `map`. Only issues that are
   * kept are rewritten, so the cost of `map` stays bounded too.
   */
  withPointers(map: (pointer: string) => string): FindingsSink {
    return { errors: mappedSink(this.errors, map), warnings: mappedSink(this.warnings, map) };
  }

  /** Both lists as {@link IssueList.report} gives them, and the counts. */
  report(): CountedFindings {
    return {
      errors: this.errors.report('errors'),
      warnings: this.warnings.report('warnings'),
      errorCount: this.errors.count,
      warningCount: this.warnings.count,
    };
  }
}

function mappedSink(list: IssueList, map: (pointer: string) => string): IssueSink {
  return {
    push: (issue) => list.push(list.full ? issue : { ...issue, pointer: map(issue.pointer) }),
    get full() {
      return list.full;
    },
  };
}
