import t from 'tap';
import { estimatePolicyHeapBytes, policyHeapProblem } from '../../../src/policy/memory-estimate.js';

const MIB = 1024 * 1024;

t.test('containers cost most; strings are skipped, escapes and all', async (t) => {
  const base = estimatePolicyHeapBytes('{"a":1}');
  t.equal(base, 512 + 16 + 7 * 2, 'one container, one member, seven characters');
  t.equal(estimatePolicyHeapBytes('[[],[],[]]') - estimatePolicyHeapBytes('[1,2,3]     '), 3 * (512 + 16) - 2 * 2, 'three more containers');
  // Brackets and commas inside strings are text, not structure.
  t.equal(estimatePolicyHeapBytes('["{[,]}"]'), 512 + 16 + 9 * 2);
  // An escaped quote does not end the string; an escaped backslash before the quote does.
  t.equal(estimatePolicyHeapBytes('["\\"{["]'), 512 + 16 + 8 * 2);
  t.equal(estimatePolicyHeapBytes('["\\\\",[]]'), 2 * 512 + 3 * 16 + 9 * 2);
  // Invalid text still gets an estimate: an unterminated string runs to the end.
  t.equal(estimatePolicyHeapBytes('["{{{{'), 512 + 16 + 6 * 2);
  t.equal(estimatePolicyHeapBytes(''), 0);
});

t.test('a policy that needs more than half the heap is a problem, named with what to do', async (t) => {
  const text = `[${'{},'.repeat(999)}{}]`; // about 0.5 MiB estimated
  const needed = estimatePolicyHeapBytes(text);
  t.equal(policyHeapProblem(text, 2 * needed), null, 'exactly half fits');
  const problem = policyHeapProblem(text, 2 * needed - 2);
  t.equal(problem?.pointer, '');
  t.match(problem?.message, /^the policy would need about 1 MiB of memory to load, more than 1 MiB \(half of this process' 2 MiB heap\); give Corporal a larger heap \(NODE_OPTIONS=--max-old-space-size=\d+ or more\)/);
  t.equal(policyHeapProblem('{"schemaVersion":2,"users":[]}', 64 * MIB), null);
});
