import t from 'tap';
import { matchRuleRegExp } from '../../../src/policy/compile-hook.js';

/**
 * Red team 8, F1: a hook rule written for RE2 (linear time in matrix-corporal) may backtrack
 * exponentially in JavaScript; one crafted request path held a gateway thread for minutes. The
 * matchers the gateway builds run on V8's linear-time fallback, so such a test ends at once. This
 * file builds the matcher from a translated source directly (nothing else in this process turned
 * the engine on); without the fallback the match below would not end within the test's timeout.
 */
t.test('a route rule that backtracks exponentially finishes on the linear-time engine', async (t) => {
  const regex = matchRuleRegExp({ type: 'route', regex: '^/_matrix/client/(\\w|\\d)*$', source: '^\\/_matrix\\/client\\/([0-9A-Z_a-z]|[0-9])*$', flags: '', invert: false });
  t.equal(regex.test(`/_matrix/client/${'1'.repeat(200)}!`), false, 'the crafted path does not match, and the test returns');
  t.equal(regex.test(`/_matrix/client/${'1'.repeat(200)}`), true, 'and the rule still matches what it should');
});
