import t from 'tap';
import { waitForGatewayGeneration, type GatewayStatus } from '../../../src/control/gateway-status.js';

/** A status question answered from `answers` in turn (the last one repeats); an Error answer rejects. */
function answering(answers: (number | null | Error)[]) {
  let asked = 0;
  const request = async (): Promise<GatewayStatus> => {
    const answer = answers[Math.min(asked++, answers.length - 1)]!;
    if (answer instanceof Error) throw answer;
    return { threadsAlive: 2, threadsConfigured: 2, snapshotGeneration: answer, threads: [], metrics: {} } as unknown as GatewayStatus;
  };
  return { request, asked: () => asked };
}

t.test('true once every thread enforces the generation or a newer one', async (t) => {
  const status = answering([null, 4, new Error('no answer'), 5]);
  t.equal(await waitForGatewayGeneration(status.request, 5, { intervalMs: 1 }), true);
  t.equal(status.asked(), 4, 'asked until then, a failed question counting as not yet');
  const newer = answering([9]);
  t.equal(await waitForGatewayGeneration(newer.request, 5, { intervalMs: 1 }), true, 'a newer generation will do');
  t.equal(newer.asked(), 1);
});

t.test('false when it does not happen in time', async (t) => {
  const status = answering([4]);
  t.equal(await waitForGatewayGeneration(status.request, 5, { timeoutMs: 50, intervalMs: 5 }), false);
  t.ok(status.asked() > 1, 'asked more than once');
});

t.test('a question the supervisor never answers does not keep the wait past its deadline', async (t) => {
  const started = performance.now();
  const never = () => new Promise<GatewayStatus>(() => {});
  t.equal(await waitForGatewayGeneration(never, 5, { timeoutMs: 100, intervalMs: 5 }), false);
  t.ok(performance.now() - started < 1_000, 'resolved at the deadline, not after the question timed out');
});

t.test('an aborted signal ends the wait, and nothing is asked after it', async (t) => {
  const status = answering([4]);
  const controller = new AbortController();
  const started = performance.now();
  const waiting = waitForGatewayGeneration(status.request, 5, { timeoutMs: 10_000, intervalMs: 5, signal: controller.signal });
  await new Promise((resolve) => setTimeout(resolve, 30));
  controller.abort();
  t.equal(await waiting, false);
  t.ok(performance.now() - started < 1_000, 'long before the deadline');
  const asked = status.asked();
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(status.asked(), asked, 'no question after the abort');
});
