import t from 'tap';
import { Supervisor } from '../../../src/supervisor/supervisor.js';
import { parseConfigObject } from '../../../src/common/config/index.js';
import { createSilentLogger, type Logger } from '../../../src/common/logger.js';
import { captureLogger } from '../../support/control-plane.js';

function supervisor(logger: Logger = createSilentLogger()): Supervisor {
  const loaded = parseConfigObject({
    Matrix: { HomeserverDomainName: 'example.com', HomeserverApiEndpoint: 'http://127.0.0.1:8008', AuthSharedSecret: 's', TimeoutMilliseconds: 1000 },
    Corporal: { UserID: '@corporal:example.com' },
    Reconciliation: { RetryIntervalMilliseconds: 1000 },
    HttpGateway: { ListenAddress: '127.0.0.1:0', TimeoutMilliseconds: 2000, DrainTimeoutMilliseconds: 0, InternalRESTAuth: { Enabled: false }, Threads: 1 },
    HttpApi: { Enabled: false, TimeoutMilliseconds: 1000 },
    PolicyProvider: { Type: 'static_file', Path: '/p.json' },
  });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return new Supervisor({ config: loaded.config, configPath: 'c.json', logger });
}

t.test('quality 18 #5: the control child is asked to stop only after the gateway threads have drained', async (t) => {
  const s = supervisor();
  const events: string[] = [];
  s.threads.drain = async () => { events.push('drain started'); await new Promise((r) => setTimeout(r, 30)); events.push('drain done'); return true; };
  s.control.stop = async () => { events.push('control stop'); };
  await s.stop();
  t.same(events, ['drain started', 'drain done', 'control stop']);
});

t.test('quality 18 #7: a stop that began while the threads were starting forks no control child', async (t) => {
  const s = supervisor();
  let finishStart: (port: number) => void = () => undefined;
  s.threads.start = () => new Promise<number>((resolve) => { finishStart = resolve; });
  s.threads.drain = async () => true;
  let forks = 0;
  const start = s.control.start.bind(s.control);
  s.control.start = () => { forks++; start(); };
  const started = s.start();
  await new Promise((r) => setTimeout(r, 20));
  const stopped = s.stop();
  t.ok(s.stopRequested);
  finishStart(1234);
  t.equal(await started, 1234);
  await stopped;
  t.equal(forks, 0, 'the supervisor does not start the control child');
  s.control.start();
  t.equal(s.control.pid, null, 'and a stopped ControlProcess forks nothing when asked');
});

t.test('quality 18 #13g: a thread that never answers the drain is given up on after the deadline, named, and the stop is not clean', async (t) => {
  const { logger, lines } = captureLogger();
  const s = supervisor(logger);
  // A thread whose event loop is wedged: it takes the drain message and never exits.
  const wedged = { postMessage: () => undefined };
  // A real wedged worker keeps the process up; this fake one does not (the give-up timer is unref'd).
  const keepAlive = setInterval(() => undefined, 1_000);
  t.teardown(() => clearInterval(keepAlive));
  (s.threads as unknown as { slots: Array<{ worker: unknown }> }).slots[0]!.worker = wedged;
  s.control.stop = async () => undefined;
  const started = Date.now();
  await s.stop();
  t.ok(Date.now() - started >= 4_500, 'waited for the grace after the deadline');
  t.notOk(s.stoppedCleanly, 'the stop says it left a thread behind');
  t.ok(lines.some((l) => l.level === 50 && JSON.stringify(l['threads']) === '[1]'), 'the stuck thread is named');
});

t.test('quality 18 #15: a thread\'s rest-auth.forget reaches every thread', async (t) => {
  const s = supervisor();
  const sent: unknown[] = [];
  s.threads.broadcast = (message: unknown) => { sent.push(message); };
  const message = { v: 1, type: 'rest-auth.forget', key: 'k' };
  (s as unknown as { fromGateway(index: number, message: unknown): void }).fromGateway(1, message);
  t.same(sent, [message]);
});
