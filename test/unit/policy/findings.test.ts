import t from 'tap';
import { FindingsCollector, IssueList, MAX_REPORTED_ISSUES } from '../../../src/policy/findings.js';

const issue = (n: number) => ({ pointer: `/x/${n}`, message: `m${n}` });

t.test('an issue list keeps the first issues in order and counts the rest', async (t) => {
  const list = new IssueList(3);
  for (let n = 0; n < 3; n += 1) list.push(issue(n));
  t.equal(list.full, true);
  t.same(list.report('errors'), [issue(0), issue(1), issue(2)], 'exactly at the limit: no summary');
  for (let n = 3; n < 10; n += 1) list.push(issue(n));
  t.equal(list.count, 10);
  t.same(list.report('warnings'), [issue(0), issue(1), issue(2), { pointer: '', message: '… and 7 more warnings' }]);
});

t.test('the default limit is the reported bound', async (t) => {
  const list = new IssueList();
  for (let n = 0; n < MAX_REPORTED_ISSUES; n += 1) list.push(issue(n));
  t.equal(list.full, true);
  t.equal(list.report('errors').length, MAX_REPORTED_ISSUES);
});

t.test('a pointer-mapping sink maps only the issues that are kept', async (t) => {
  const findings = new FindingsCollector(2);
  findings.errors.push(issue(0));
  const mapped: string[] = [];
  const sink = findings.withPointers((pointer) => {
    mapped.push(pointer);
    return `/mapped${pointer}`;
  });
  t.equal(sink.errors.full, false);
  for (let n = 1; n < 5; n += 1) sink.errors.push(issue(n));
  t.equal(sink.errors.full, true, 'a producer can see that it may skip building issues');
  sink.warnings.push(issue(9));
  t.same(mapped, ['/x/1', '/x/9'], 'the counted-only issues are not mapped');
  t.same(findings.report(), {
    errors: [issue(0), { pointer: '/mapped/x/1', message: 'm1' }, { pointer: '', message: '… and 3 more errors' }],
    warnings: [{ pointer: '/mapped/x/9', message: 'm9' }],
    errorCount: 5,
    warningCount: 1,
  });
});
