import t from 'tap';
import { fileURLToPath } from 'node:url';
import { describeExit, runCommand, tailLines } from '../../support/run-command.js';

const CHURN = fileURLToPath(new URL('./fixtures/churn-pools.js', import.meta.url));
const ROUNDS = 120;

// A gateway thread that drains or is restarted closes its pools, possibly while their workers are
// still loading. Piscina's worker require()s its module first; when that module was an ES module,
// Node.js 20.19+ aborted the whole process on such a termination (src/offload/tasks-entry.cts).
// Before the CommonJS shim, this child died with SIGABRT in a third of the runs or more, and every run
// printed the require(esm) trace that the last assertion looks for.
t.test('closing pools while their workers start never takes the process down', async (t) => {
  const result = await runCommand(process.execPath, ['--trace-require-module=all', CHURN, String(ROUNDS)], {
    timeoutMs: 120_000,
    displayAs: 'churn-pools',
  });
  t.equal(result.signal, null, describeExit(result));
  t.equal(result.exitCode, 0, `${describeExit(result)}\n${tailLines(result.output, 20)}`);
  t.match(result.output, `closed ${ROUNDS} pools`, 'tasks ran, and every pool closed');
  t.notMatch(result.output, /loading ES Module .* using require\(\)/, 'no pool worker require()s an ES module');
});
