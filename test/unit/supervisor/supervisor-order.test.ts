import t from 'tap';
import { Supervisor } from '../../../src/supervisor/supervisor.js';
import { parseConfigObject } from '../../../src/common/config/index.js';
import { createSilentLogger } from '../../../src/common/logger.js';

function supervisor(): Supervisor {
  const loaded = parseConfigObject({
    Matrix: { HomeserverDomainName: 'example.com', HomeserverApiEndpoint: 'http://127.0.0.1:8008', AuthSharedSecret: 's', TimeoutMilliseconds: 1000 },
    Corporal: { UserID: '@corporal:example.com' },
    Reconciliation: { RetryIntervalMilliseconds: 1000 },
    HttpGateway: { ListenAddress: '127.0.0.1:0', TimeoutMilliseconds: 2000, InternalRESTAuth: { Enabled: false }, Threads: 1 },
    HttpApi: { Enabled: false, TimeoutMilliseconds: 1000 },
    PolicyProvider: { Type: 'static_file', Path: '/p.json' },
  });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return new Supervisor({ config: loaded.config, configPath: 'c.json', logger: createSilentLogger() });
}

t.test('quality 18 #5: the control child is asked to stop only after the gateway threads have drained', async (t) => {
  const s = supervisor();
  const events: string[] = [];
  s.threads.drain = async () => { events.push('drain started'); await new Promise((r) => setTimeout(r, 30)); events.push('drain done'); };
  s.control.stop = async () => { events.push('control stop'); };
  await s.stop();
  t.same(events, ['drain started', 'drain done', 'control stop']);
});

t.test('quality 18 #7: a stop that began while the threads were starting forks no control child', async (t) => {
  const s = supervisor();
  let finishStart: (port: number) => void = () => undefined;
  s.threads.start = () => new Promise<number>((resolve) => { finishStart = resolve; });
  s.threads.drain = async () => undefined;
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
