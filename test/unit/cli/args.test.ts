import t from 'tap';
import { parseArgs } from '../../../src/cli/args.js';

t.test('defaults to serve with config.json', async (t) => {
  const parsed = parseArgs([]);
  t.same(parsed, { ok: true, args: { command: 'serve', configPath: 'config.json', policyPath: null, json: false, exitCode: false, help: false, version: false } });
});

const accepted: Array<[string[], Record<string, unknown>]> = [
  [['serve', '--config', 'a.json'], { command: 'serve', configPath: 'a.json' }],
  [['--config=a.json'], { command: 'serve', configPath: 'a.json' }],
  [['-config=/etc/mc/config.json'], { command: 'serve', configPath: '/etc/mc/config.json' }],
  [['-config', 'b.json', 'check'], { command: 'check', configPath: 'b.json' }],
  [['check', '--policy', 'p.json'], { command: 'check', policyPath: 'p.json' }],
  [['check', '--policy=p.json', '--config', 'c.json'], { command: 'check', policyPath: 'p.json', configPath: 'c.json' }],
  [['plan'], { command: 'plan', json: false, exitCode: false, policyPath: null }],
  [['plan', '--exit-code'], { command: 'plan', exitCode: true, json: false }],
  [['plan', '-exit-code', '--json'], { command: 'plan', exitCode: true, json: true }],
  [['plan', '--json', '--policy', 'p.json'], { command: 'plan', json: true, policyPath: 'p.json' }],
  [['-config=c.json', 'plan', '-json'], { command: 'plan', json: true, configPath: 'c.json' }],
  [['--help'], { help: true }],
  [['-h'], { help: true }],
  [['--version'], { version: true }],
  [['-version'], { version: true }],
];
for (const [argv, expected] of accepted) {
  t.test(`accepts ${argv.join(' ')}`, async (t) => {
    const parsed = parseArgs(argv);
    t.ok(parsed.ok);
    if (parsed.ok) t.match(parsed.args, expected);
  });
}

const rejected: Array<[string[], RegExp]> = [
  [['--bogus'], /unknown option: --bogus/],
  [['-x'], /unknown option/],
  [['frobnicate'], /unknown command: frobnicate/],
  [['serve', 'check'], /unexpected argument: check/],
  [['--config'], /--config needs a value/],
  [['--config', '--help'], /--config needs a value/],
  [['--config='], /--config needs a value/],
  [['--help=yes'], /takes no value/],
  [['-h=anything'], /^-h takes no value$/],
  [['--h=x'], /takes no value/],
  [['serve', '--policy', 'p.json'], /--policy only applies to check and plan/],
  [['check', '--json'], /--json only applies to plan/],
  [['--json'], /--json only applies to plan/],
  [['plan', '--json=yes'], /takes no value/],
  [['serve', '--exit-code'], /--exit-code only applies to plan/],
  [['check', '--exit-code'], /--exit-code only applies to plan/],
  [['--exit-code'], /--exit-code only applies to plan/],
  [['plan', '--exit-code=3'], /--exit-code takes no value/],
];
for (const [argv, message] of rejected) {
  t.test(`rejects ${argv.join(' ')}`, async (t) => {
    const parsed = parseArgs(argv);
    t.notOk(parsed.ok);
    if (!parsed.ok) t.match(parsed.error, message);
  });
}
