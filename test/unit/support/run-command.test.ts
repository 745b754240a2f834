import t from 'tap';
import { isProcessRunning } from '../../support/process-reaper.js';
import { describeExit, runCommand, tailLines } from '../../support/run-command.js';

t.test('exit code and interleaved output are reported', async (t) => {
  const result = await runCommand(process.execPath, ['-e', 'console.log("out"); console.error("err"); process.exit(3)'], { timeoutMs: 30_000 });
  t.equal(result.exitCode, 3);
  t.equal(result.timedOut, false);
  t.match(result.output, /out/);
  t.match(result.output, /err/);
  t.match(describeExit(result), /exited with code 3$/);
});

t.test('output is bounded to its tail', async (t) => {
  const result = await runCommand(process.execPath, ['-e', 'for (let i = 0; i < 5000; i++) console.log("line " + i)'], { timeoutMs: 30_000, maxOutputBytes: 1000 });
  t.equal(result.exitCode, 0);
  t.ok(result.output.length <= 1000);
  t.match(result.output, /line 4999\n$/);
});

t.test('a command over its time limit is killed', async (t) => {
  const result = await runCommand(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { timeoutMs: 200 });
  t.equal(result.timedOut, true);
  t.equal(result.signal, 'SIGKILL');
  t.match(describeExit(result), /killed after running .* \(timeout\)/);
});

// Without the group kill the run would wait for the orphaned sleep (2 minutes): the test's own
// timeout turns that hang into a failure.
t.test('the time limit ends the children of a command that forks, which hold its output open', { timeout: 60_000 }, async (t) => {
  const result = await runCommand('sh', ['-c', 'sleep 120 & echo "child $!"; wait'], { timeoutMs: 500 });
  t.equal(result.timedOut, true);
  const child = Number(/child (\d+)/.exec(result.output)?.[1]);
  t.ok(child > 0, 'the shell reported its child');
  t.notOk(isProcessRunning(child), 'the child was killed with the shell');
});

t.test('an executable that cannot start rejects with the command line', async (t) => {
  await t.rejects(runCommand('/nonexistent/tool', ['--x'], { timeoutMs: 1000 }), { message: /cannot start `\/nonexistent\/tool --x`/ });
});

t.test('tailLines keeps the last lines', async (t) => {
  t.equal(tailLines('a\nb\nc\n', 2), 'b\nc');
});
