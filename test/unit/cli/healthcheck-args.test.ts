import t from 'tap';
import { HEALTHCHECK_USAGE, parseHealthcheckArgs } from '../../../src/cli/healthcheck-args.js';

t.test('no argument: liveness, as the image HEALTHCHECK runs it', async (t) => {
  t.same(parseHealthcheckArgs([]), { ok: true, args: { mode: 'liveness', help: false } });
});

t.test('--ready (or -ready): readiness', async (t) => {
  for (const flag of ['--ready', '-ready']) {
    t.same(parseHealthcheckArgs([flag]), { ok: true, args: { mode: 'readiness', help: false } }, flag);
  }
});

t.test('--help, -help, -h', async (t) => {
  for (const flag of ['--help', '-help', '-h']) {
    t.same(parseHealthcheckArgs([flag]), { ok: true, args: { mode: 'liveness', help: true } }, flag);
  }
  t.same(parseHealthcheckArgs(['--ready', '--help']), { ok: true, args: { mode: 'readiness', help: true } });
  t.match(HEALTHCHECK_USAGE, /--ready +readiness/);
});

t.test('anything else is an error naming the argument', async (t) => {
  for (const token of ['--live', '--ready=yes', 'ready', '--config=/x.json', '']) {
    const result = parseHealthcheckArgs(['--ready', token]);
    t.notOk(result.ok, token);
    if (!result.ok) t.equal(result.error, `unknown argument ${JSON.stringify(token)} (usage: healthcheck.js [--ready])`);
  }
});
