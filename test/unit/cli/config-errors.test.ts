import t from 'tap';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { parseConfigObject } from '../../../src/common/config/index.js';
import type { Logger } from '../../../src/common/logger.js';
import { logConfigWarnings } from '../../../src/cli/config-errors.js';
import { readRepoText } from '../../fixtures/config/fixture-files.js';

t.test('config warnings: a note matrix-corporal logs at INFO stays at INFO, the rest are warnings', async (t) => {
  const config = JSON.parse(readRepoText('config/matrix-corporal-3.config.json')) as { HttpGateway: { InternalRESTAuth: Record<string, unknown> } };
  config.HttpGateway.InternalRESTAuth['IPNetworkWhitelist'] = [];
  (config as Record<string, unknown>)['UnknownSection'] = {};
  const loaded = parseConfigObject(config);
  t.ok(loaded.ok);

  const lines: Array<{ level: number; key: string; msg: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; key: string; msg: string });
      done();
    },
  });
  logConfigWarnings(pino({ level: 'info' }, stream) as unknown as Logger, loaded.warnings);
  await new Promise((resolve) => setImmediate(resolve));

  const levelOf = (key: string) => lines.find((line) => line.key === key)?.level;
  t.equal(levelOf('HttpGateway.InternalRESTAuth.IPNetworkWhitelist'), 30, 'the empty whitelist note: INFO');
  t.equal(lines.length, loaded.warnings.length, 'every warning is logged once');
  t.ok(lines.some((line) => line.level === 40 && line.key !== 'HttpGateway.InternalRESTAuth.IPNetworkWhitelist'), 'the unknown section: WARN');
});
