import t from 'tap';
import { createSilentLogger } from '../../../../src/common/logger.js';
import { RecoveryWatch, synapseAnswers } from '../../../../src/control/synapse/recovery-watch.js';
import { SynapseHttp } from '../../../../src/control/synapse/synapse-http.js';
import { pause, waitFor } from '../../../support/control-plane.js';
import { json, startScriptedServer } from '../fixtures/scripted-server.js';

const INTERVAL_MS = 10;
const FAR = () => Date.now() + 60_000;

/** A watch whose probes answer from `answers` in turn (the last one repeats); counts probes and recoveries. */
function scriptedWatch(answers: boolean[]) {
  const seen = { probes: 0, recovered: 0 };
  const watch = new RecoveryWatch({
    intervalMs: INTERVAL_MS,
    maxGapMs: 60_000,
    probe: async () => answers[Math.min(seen.probes++, answers.length - 1)]!,
    onRecovered: () => seen.recovered++,
  });
  return { watch, seen };
}

t.test('Synapse back after probes that got no answer: onRecovered once', async (t) => {
  const { watch, seen } = scriptedWatch([false, false, true]);
  t.teardown(() => watch.stop());
  watch.waitUntil(FAR());
  await waitFor('the recovery', () => seen.recovered === 1);
  await waitFor('more probes', () => seen.probes >= 6);
  t.equal(seen.recovered, 1, 'answers that follow answers recover nothing more');
});

const FLAPPING_PROBES = 70;

/**
 * A watch whose first {@link FLAPPING_PROBES} probes alternate between no answer and an answer;
 * later ones answer `up`. Its clock moves one interval per probe, whatever the machine's timers do.
 */
function flappingWatch(maxGapMs: number) {
  const seen = { probes: 0, recovered: 0, up: false };
  let clock = 0;
  const watch = new RecoveryWatch({
    intervalMs: INTERVAL_MS,
    maxGapMs,
    probe: async () => {
      clock += INTERVAL_MS;
      seen.probes++;
      return seen.probes <= FLAPPING_PROBES ? seen.probes % 2 === 0 : seen.up;
    },
    onRecovered: () => seen.recovered++,
    now: () => clock,
  });
  return { watch, seen };
}

t.test('verification 19, finding 3: a /versions that flaps pulls recoveries forward on a backoff of their own; work that stops waiting resets it', async (t) => {
  const { watch, seen } = flappingWatch(60_000);
  t.teardown(() => watch.stop());
  watch.waitUntil(FAR());
  await waitFor('the flapping probes', () => seen.probes > FLAPPING_PROBES);
  // 35 down→up transitions, each a recovery without the backoff. With it: at 20 ms, then no
  // sooner than 20, 40, 80, 160, 320 ms after the one before (40, 80, 160, 320, 640).
  t.equal(seen.recovered, 6, `${seen.recovered} recoveries for 35 transitions`);
  watch.waitUntil(null);
  watch.waitUntil(FAR());
  const probesBefore = seen.probes;
  await waitFor('a probe that sees Synapse down', () => seen.probes > probesBefore);
  // Without the reset, the next recovery would wait until 640 + 640 ms on the watch's clock.
  const recoveredBefore = seen.recovered;
  const probesAtUp = seen.probes;
  seen.up = true;
  await waitFor('the recovery', () => seen.recovered > recoveredBefore);
  t.ok(seen.probes - probesAtUp <= 3, 'at the first answer: the work waited anew, so the count started again');
});

t.test('review 22, #6: the gap between recoveries grows no longer than RetryMaxIntervalMilliseconds', async (t) => {
  const { watch, seen } = flappingWatch(40);
  t.teardown(() => watch.stop());
  watch.waitUntil(FAR());
  await waitFor('the flapping probes', () => seen.probes > FLAPPING_PROBES);
  // At 20 and 40 ms, then every 40 ms from 80 to 680: 18 (without the cap: 6, as above).
  t.equal(seen.recovered, 18, `${seen.recovered} recoveries in 700 ms`);
});

t.test('Synapse answering throughout (a refused action): the backoff stands', async (t) => {
  const { watch, seen } = scriptedWatch([true]);
  t.teardown(() => watch.stop());
  watch.waitUntil(FAR());
  await waitFor('probes', () => seen.probes >= 5);
  t.equal(seen.recovered, 0);
});

t.test('work due within one interval: no probe', async (t) => {
  const { watch, seen } = scriptedWatch([false, true]);
  t.teardown(() => watch.stop());
  watch.waitUntil(Date.now() + INTERVAL_MS);
  await pause(10 * INTERVAL_MS);
  t.equal(seen.probes, 0);
  watch.waitUntil(Date.now());
  await pause(5 * INTERVAL_MS);
  t.equal(seen.probes, 0, 'nor for work running now');
});

t.test('nothing waiting forgets an outage seen; a new wait needs a new one', async (t) => {
  const { watch, seen } = scriptedWatch([false, true]);
  t.teardown(() => watch.stop());
  watch.waitUntil(FAR());
  await waitFor('the failed probe', () => seen.probes >= 1);
  watch.waitUntil(null);
  watch.waitUntil(FAR());
  await waitFor('probes that get answers', () => seen.probes >= 4);
  t.equal(seen.recovered, 0);
});

t.test('an outage seen is kept while the work runs and waits again', async (t) => {
  const answers = [false];
  const seen = { probes: 0, recovered: 0 };
  const watch = new RecoveryWatch({ intervalMs: INTERVAL_MS, maxGapMs: 60_000, probe: async () => (seen.probes++, answers[0]!), onRecovered: () => seen.recovered++ });
  t.teardown(() => watch.stop());
  watch.waitUntil(FAR());
  await waitFor('a failed probe', () => seen.probes >= 1);
  watch.waitUntil(Date.now()); // the retry runs (and fails)
  watch.waitUntil(FAR());
  answers[0] = true;
  await waitFor('the recovery', () => seen.recovered === 1);
});

t.test('stopped: no probe, and a probe in flight recovers nothing', async (t) => {
  let release: (answer: boolean) => void = () => undefined;
  const seen = { probes: 0, recovered: 0 };
  const watch = new RecoveryWatch({
    intervalMs: INTERVAL_MS,
    maxGapMs: 60_000,
    probe: () => (++seen.probes === 1 ? Promise.resolve(false) : new Promise<boolean>((resolve) => (release = resolve))),
    onRecovered: () => seen.recovered++,
  });
  watch.waitUntil(FAR());
  await waitFor('the second probe in flight', () => seen.probes === 2);
  watch.stop();
  release(true);
  await pause(5 * INTERVAL_MS);
  t.same(seen, { probes: 2, recovered: 0 });
  watch.waitUntil(FAR());
  await pause(5 * INTERVAL_MS);
  t.equal(seen.probes, 2, 'waitUntil after stop probes nothing');
});

t.test('synapseAnswers: a 2xx from /_matrix/client/versions, nothing else', async (t) => {
  const server = await startScriptedServer(json(200, { versions: ['v1.11'] }));
  t.teardown(() => server.close());
  const http = new SynapseHttp({ baseUrl: server.url, timeoutMs: 2_000, connections: 1, logger: createSilentLogger() });
  t.teardown(() => http.close());
  t.equal(await synapseAnswers(http), true);
  t.match(server.requests.at(-1), { method: 'GET', url: '/_matrix/client/versions', authorization: undefined });
  server.fallback = json(502, { errcode: 'M_UNKNOWN', error: 'Bad gateway' });
  t.equal(await synapseAnswers(http), false, 'a reverse proxy answering for a Synapse that is down');
  await server.close();
  t.equal(await synapseAnswers(http), false, 'nothing listening');
});
