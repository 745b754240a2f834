import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RoomsRepairMessage, Unversioned } from '../../../src/common/ipc.js';
import { createSilentLogger } from '../../../src/common/logger.js';
import { ControlProcess } from '../../../src/supervisor/control-process.js';
import { testConfig } from '../../support/corporal-config.js';
import { findFreePort } from '../../support/free-port.js';

// The supervisor logs a half-created room repair it could not hand off; that rests on send()
// telling a message given to a running child from one dropped because there is none.
t.test('send() says whether a control child took the message', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'corporal-control-send-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const config = testConfig({ gatewayPort: await findFreePort(), policyCachePath: join(dir, 'policy-cache.json') });
  const ready: Array<() => void> = [];
  const control = new ControlProcess({
    config,
    configPath: join(dir, 'config.json'),
    logger: createSilentLogger(),
    inherited: () => null,
    onMessage: (message) => {
      if (message.type === 'control.ready') ready.shift()?.();
    },
  });
  const repair: Unversioned<RoomsRepairMessage> = { type: 'rooms.repair', userId: '@alice:localhost', roomsBefore: [], startedAt: Date.now(), passDelaysMs: [] };

  t.equal(control.send(repair), false, 'before start: dropped');
  const started = new Promise<void>((resolve) => ready.push(resolve));
  control.start();
  await started;
  t.equal(control.send(repair), true, 'running: sent');
  await control.stop();
  t.equal(control.send(repair), false, 'after the child exited: dropped');
});
