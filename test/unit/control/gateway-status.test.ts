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
