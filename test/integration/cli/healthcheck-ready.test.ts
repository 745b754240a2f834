import t from 'tap';
import { join } from 'node:path';
import { waitFor } from '../../support/control-plane.js';
import { allThreadsAt, API_TOKEN } from '../../support/control-plane-api.js';
import { HEALTHCHECK_SCRIPT } from '../../support/corporal-process.js';
import { runCommand } from '../../support/run-command.js';
import { serveAgainst } from '../../support/serve-against.js';
import { startSynapse } from '../../support/start-synapse.js';
import { startGate } from '../../support/tcp-gate.js';

// The compiled health check script against a real `corporal serve` whose Synapse sits behind a TCP
// gate: closed, the reconciler cannot open its admin session (`waiting`); opened, it gets ready.

t.test('healthcheck.js --ready: not ready while the reconciler waits for Synapse, ready once it is there', async (t) => {
  // The harness admin is not the corporal user: Corporal registers @corporal:localhost itself.
  const hs = await startSynapse({ adminLocalpart: 'harness' });
  t.teardown(() => hs.stop());
  const gate = await startGate(hs.port);
  t.teardown(() => gate.close());
  const { corporal, api, dir } = await serveAgainst(t, {
    homeserverUrl: gate.url,
    registrationSharedSecret: hs.registrationSharedSecret,
    overrides: { Reconciliation: { RetryIntervalMilliseconds: 200, RetryMaxIntervalMilliseconds: 500, ResyncIntervalMilliseconds: 0 } },
  });
  const env = { ...process.env, CORPORAL_CONFIG: join(dir, 'config.json') };
  /** Runs the script; its exit code and its one line of output. */
  const healthcheck = async (...args: string[]) => {
    const result = await runCommand(process.execPath, [HEALTHCHECK_SCRIPT, ...args], { timeoutMs: 30_000, env });
    t.equal(result.output.split('\n').filter((line) => line !== '').length, 1, `one line: ${result.output}`);
    t.notMatch(result.output, API_TOKEN, 'the API token is never printed');
    t.comment(`healthcheck.js ${args.join(' ')}: ${result.output.trimEnd()}`);
    return { code: result.exitCode, line: result.output.trimEnd() };
  };

  await api.statusWhenUp();
  await waitFor('a failed admin session attempt', async () => ((await api.status()).reconciler?.failedAttempts ?? 0) >= 1);
  // Between two failed attempts the state is `waiting`, during one `starting`: both say why.
  const synapseDown = /reconciler (waiting: |starting: retrying the admin session after \d+ failed attempts? \(last: ).*cannot reach Synapse/;

  const live = await healthcheck();
  t.equal(live.code, 0, 'liveness passes: the gateway answers, whatever Synapse does');
  t.match(live.line, /^healthy: GET http:\/\/127\.0\.0\.1:\d+\/_matrix\/client\/corporal answered 200$/);

  const early = await healthcheck('--ready');
  t.equal(early.code, 1);
  t.match(early.line, /^not ready: no policy loaded yet; reconciler /, "no second reason about the gateway threads");
  t.match(early.line, synapseDown);

  t.equal((await api.putPolicy({ schemaVersion: 2, managedRoomIds: [], users: [] })).status, 200);
  await waitFor('the gateway enforces the policy', async () => allThreadsAt(await api.status(), 1));
  const waiting = await healthcheck('--ready');
  t.equal(waiting.code, 1);
  t.match(waiting.line, /^not ready: reconciler /, 'the policy and the gateway are fine now');
  t.match(waiting.line, synapseDown);

  gate.open();
  await waitFor('the reconciler is ready', async () => (await api.status()).reconciler?.state === 'ready', 30_000);
  const ready = await healthcheck('--ready');
  t.equal(ready.code, 0, ready.line);
  t.match(ready.line, /^ready: policy generation 1, 1\/1 gateway threads alive, reconciler ready \(GET http:\/\/127\.0\.0\.1:\d+\/_matrix\/client\/corporal and GET http:\/\/127\.0\.0\.1:\d+\/_matrix\/corporal\/status answered 200\)$/);

  corporal.process.kill('SIGTERM');
  t.equal(await corporal.exited, 0);
  const gone = await healthcheck('--ready');
  t.equal(gone.code, 1);
  t.match(gone.line, /^not ready: GET http:\/\/127\.0\.0\.1:\d+\/_matrix\/client\/corporal: fetch failed: ECONNREFUSED$/);
});
