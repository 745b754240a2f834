import t from 'tap';
import { Writable } from 'node:stream';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Logger } from '../../../src/common/logger.js';
import { findFreePort } from '../../support/free-port.js';
import { testConfig } from '../../support/corporal-config.js';
import { Supervisor } from '../../../src/supervisor/supervisor.js';
import { waitFor } from '../../support/control-plane.js';
import { Agent, request } from 'undici';

t.test('a crashed gateway thread is restarted while the other keeps serving', async (t) => {
  const lines: Array<Record<string, unknown>> = [];
  const logger: Logger = pino({ level: 'info' }, new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  }));
  const dir = mkdtempSync(join(tmpdir(), 'corporal-threads-'));
  const port = await findFreePort();
  const config = testConfig({ gatewayPort: port, threads: 2, policyCachePath: join(dir, 'policy.json') });
  const supervisor = new Supervisor({
    config,
    configPath: join(dir, 'config.json'),
    logger,
    faultInjection: true,
    restart: { initialMs: 200, maxMs: 1000, stableAfterMs: 60_000, crashLoopThreshold: 5 },
  });
  t.teardown(() => supervisor.stop());
  await supervisor.start();
  t.equal(supervisor.threads.alive, 2);
  // Counted per thread, in a region a restarted thread keeps: the counts never go back.
  const infoServed = (): number => supervisor.threads.requestMetrics().requests
    .filter((count) => count.route === 'info' && count.source === 'corporal' && count.code === '2xx').reduce((sum, count) => sum + count.count, 0);
  // On a client of their own, closed before the crash: a kept-alive socket of thread 1 in the
  // global pool would be reset by the crash under the loop's next request.
  const before = new Agent();
  for (let i = 0; i < 20; i++) await request(`http://127.0.0.1:${port}/_matrix/client/corporal`, { dispatcher: before }).then((answer) => answer.body.dump());
  await before.close();
  // A thread counts a request once its exchange has settled, which may be just after the client has the answer.
  await waitFor('the 20 requests counted', () => infoServed() === 20);
  t.equal(infoServed(), 20, 'both threads counted the requests before the crash');

  supervisor.threads.injectFault(1);
  const deadline = Date.now() + 10_000;
  let sawDown = false;
  let served = 0;
  let reset = 0;
  while (Date.now() < deadline) {
    if (supervisor.threads.alive < 2) sawDown = true;
    // A kept-alive connection to the crashing thread is reset with it: the client retries on a
    // new one, which the surviving thread takes.
    const response = await fetch(`http://127.0.0.1:${port}/_matrix/client/corporal`).catch((err: unknown) => {
      if ((err as { cause?: { code?: string } }).cause?.code !== 'ECONNRESET') throw err;
      reset += 1;
      return null;
    });
    if (response?.status === 200) served += 1;
    if (sawDown && supervisor.threads.alive === 2) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  t.ok(sawDown, 'the thread went down');
  t.equal(supervisor.threads.alive, 2, 'and came back');
  t.ok(served > 0, 'requests were served throughout');
  t.ok(reset <= 1, `at most the one connection the crashed thread held was reset (${reset})`);
  await waitFor('every answered request counted', () => infoServed() >= 20 + served).catch(() => undefined);
  t.ok(infoServed() >= 20 + served, `the crashed thread's counts were kept (${infoServed()} counted, ${20 + served} answered)`);
  const restart = lines.find((l) => l.supervised === 'gateway thread 1');
  t.match(restart, { exitCode: 1, restart: 1 }, 'the restart is logged');

  await supervisor.stop();
  t.equal(supervisor.threads.alive, 0);
});
