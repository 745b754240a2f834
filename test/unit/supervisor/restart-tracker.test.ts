import t from 'tap';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../../../src/common/logger.js';
import { GATEWAY_THREAD_RESTART_OPTIONS, RestartTracker } from '../../../src/supervisor/restart-tracker.js';

function capture(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream) as unknown as Logger, lines };
}

t.test('backs off exponentially and reports a crash loop', async (t) => {
  const { logger, lines } = capture();
  const tracker = new RestartTracker('thing', logger, { initialMs: 10, maxMs: 50, stableAfterMs: 60_000, crashLoopThreshold: 3 });
  tracker.started();
  const delays = [1, 2, 3, 4].map(() => tracker.failed(1, null));
  t.same(delays, [10, 20, 40, 50]);
  t.equal(tracker.restarts, 4);
  await new Promise((resolve) => setImmediate(resolve));
  t.same(lines.map((l) => l.level), [40, 40, 50, 50], 'warnings, then errors once it loops');
  t.match(String(lines[2]!.msg), /crash-looping/);
  t.match(lines[0], { supervised: 'thing', exitCode: 1, restart: 1, delayMs: 10 });
});

t.test('a stable run resets the backoff', async (t) => {
  const { logger } = capture();
  const tracker = new RestartTracker('thing', logger, { initialMs: 10, maxMs: 50, stableAfterMs: 0, crashLoopThreshold: 3 });
  tracker.started();
  t.equal(tracker.failed(null, 'SIGKILL'), 10);
  t.equal(tracker.failed(null, 'SIGKILL'), 10, 'stableAfterMs 0: every run counts as stable');
});

t.test('gateway threads come back within 2 s however often they crash', async (t) => {
  const { logger } = capture();
  const tracker = new RestartTracker('gateway thread 1', logger, GATEWAY_THREAD_RESTART_OPTIONS);
  tracker.started();
  const delays = Array.from({ length: 10 }, () => tracker.failed(1, null));
  t.same(delays.slice(0, 4), [250, 500, 1000, 2000]);
  t.ok(delays.every((delay) => delay <= 2000), JSON.stringify(delays));
});

t.test('quality 18 #6: the restart count shown on /status goes back to 0 once a run is stable', async (t) => {
  const { logger } = capture();
  const tracker = new RestartTracker('thing', logger, { initialMs: 1, maxMs: 1, stableAfterMs: 30, crashLoopThreshold: 10 });
  tracker.started();
  for (let i = 0; i < 3; i++) { tracker.failed(1, null); tracker.started(); }
  t.equal(tracker.restarts, 3, 'a crash series');
  await new Promise((resolve) => setTimeout(resolve, 40));
  t.equal(tracker.restarts, 0, 'the current run is stable: no crash shown');
  tracker.failed(1, null);
  t.equal(tracker.restarts, 1, 'a new series starts at 1');
});
