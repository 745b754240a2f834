import t from 'tap';
import { inTurn, rawRequest, wireResponses } from '../../../support/raw-http.js';
import { startProxyHarness } from './fixtures/proxy-harness.js';
import { captureLogger } from '../../../support/control-plane.js';

/**
 * While the homeserver is down every proxied request fails, and clients retry in a loop: one
 * warning each was 1,700 lines/s in the soak test (soak review 18, S1). The warning is throttled
 * per thread, with the count held back; every client still gets its error answer.
 */
const { logger, lines } = captureLogger('warn');
// An upstream that resets every request: each exchange fails with an upstream error.
const harness = await startProxyHarness({ answer: (socket) => socket.destroy(), logger });
t.teardown(() => harness.close());

t.test('a storm of upstream failures writes one warning, and every client gets its 502', async (t) => {
  const statuses: string[] = [];
  for (let i = 0; i < 20; i++) {
    const [answer] = wireResponses(await inTurn(harness.port, [rawRequest('GET', `/_matrix/client/v3/x${i}`, 'Connection: close')], 2_000));
    statuses.push(answer?.head.split(' ')[1] ?? 'none');
  }
  t.same([...new Set(statuses)], ['502'], 'each request answered 502');
  const failures = lines.filter((line) => line['msg'] === 'proxying to the homeserver failed');
  t.equal(failures.length, 1, 'one line for the twenty failures');
  t.equal(failures[0]?.['suppressed'], 0);
});
