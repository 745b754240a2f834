import t from 'tap';
import { estimatePolicyHeapBytes, policyHeapProblem } from '../../../src/policy/memory-estimate.js';

const MIB = 1024 * 1024;
const estimate = estimatePolicyHeapBytes;

t.test('containers, entries of top-level lists, members by key, separators and characters', async (t) => {
  t.equal(estimate(''), 0);
  t.equal(estimate('{"a":1}'), 96 + 160 + 7 * 4, 'one container, one member under a key of no policy');
  t.equal(estimate('{"id":1}'), 96 + 24 + 8 * 4, 'a key of the policy vocabulary is cheap');
  t.equal(estimate('{"users":[{},{}]}'), 2 * 96 + 2 * 600 + 24 + 24 + 17 * 4, 'objects directly in a top-level list are entries (users)');
  t.equal(estimate('[[[[]]]]'), 4 * 96 + 8 * 4, 'arrays are never entries');
  t.equal(estimate('{"hooks":[{}]}'), 2 * 96 + 24 + 4096 + 14 * 4, 'an object in the top-level hooks list is a hook');
  t.equal(estimate('{"regex":"abc","x":"abc"}'), 96 + 24 + 3 * 64 + 160 + 24 + 25 * 4, 'a regex costs by its characters; another string does not');
  t.equal(estimate('{"x":[[{}]]}'), 3 * 96 + 96 + 160 + 12 * 4, 'deeper objects are containers');
});

t.test('strings are skipped, escapes and all; a key is a string followed by a colon', async (t) => {
  t.equal(estimate('["{[,]}"]'), 96 + 9 * 4, 'brackets and commas inside strings are text');
  t.equal(estimate('["\\"{[:"]'), 96 + 9 * 4, 'an escaped quote does not end the string');
  t.equal(estimate('["\\\\",[]]'), 2 * 96 + 24 + 9 * 4, 'an escaped backslash before the quote does');
  t.equal(estimate('{"a" :1,"b"\n:2}'), 96 + 2 * 160 + 24 + 15 * 4, 'blanks before the colon');
  t.equal(estimate('["a", ":"]'), 96 + 24 + 10 * 4, 'a string followed by a string holding a colon is no key');
  t.equal(estimate('["{{{{'), 96 + 6 * 4, 'an unterminated string runs to the end');
});

t.test('text with a character above U+00FF costs more a character', async (t) => {
  t.equal(estimate('"ÿÿ"'), 4 * 4);
  t.equal(estimate('"€€"'), 4 * 9);
});

t.test('a policy that needs more than half the heap is a problem, named with what to do', async (t) => {
  const text = `[${'{},'.repeat(999)}{}]`;
  const needed = estimate(text);
  t.equal(policyHeapProblem(text, 2 * needed), null, 'exactly half fits');
  const problem = policyHeapProblem(text, 2 * needed - 2);
  t.equal(problem?.pointer, '');
  t.match(problem?.message, /^the policy would need about 1 MiB of memory to load, more than 1 MiB \(half of this process' 1 MiB heap\); give Corporal a larger heap \(NODE_OPTIONS=--max-old-space-size=\d+ or more\)/);
  t.equal(policyHeapProblem('{"schemaVersion":2,"users":[]}', 64 * MIB), null);
});
