import t from 'tap';
import { nonIntegerLevelFields } from '../../../../src/control/observe/power-level-values.js';
import { exactPowerLevel as powerLevel } from '../../../../src/common/power-level-value.js';
import { parsePowerLevel } from '../../../../src/gateway/checks/power-levels-check.js';

/**
 * Red team 12, F4. Each row: a value found in `m.room.power_levels`, what Synapse 1.163.2 reads
 * (Python 3.11 `int(value)`, run in the pinned virtualenv; 'error' means `int()` raises, and Synapse
 * refuses the event), and what Corporal reads: the same integer, or `undefined` (unknown) — never another one.
 */
const ROWS: [value: unknown, pythonInt: number | string, corporal: number | undefined][] = [
  [50, 50, 50],
  [-7, -7, -7],
  [0, 0, 0],
  [9007199254740991, 9007199254740991, 9007199254740991],
  [50.0, 50, 50], // JSON 50.0 parses as 50 in JavaScript; int(50.0) is 50 too
  ['50', 50, 50],
  [' 50 ', 50, 50],
  ['\t-7\n', -7, -7],
  ['+5', 5, 5],
  ['050', 50, 50],
  ['-0', 0, -0],
  ['123456789012345', 123456789012345, 123456789012345],
  ['1234567890123456', 1234567890123456, undefined], // 16 digits: past what is kept exact here
  ['5_0', 50, undefined],
  ['1_00', 100, undefined],
  ['\uff15\uff10', 50, undefined], // full-width "５０"
  ['\u0665', 5, undefined], // Arabic-Indic five
  ['\u00a05', 5, undefined], // no-break space: Python strips it, Corporal does not read it
  ['\ufeff5', 'error', undefined], // JavaScript's \s would have stripped the BOM
  ['\x1c5', 'error', undefined],
  ['5.0', 'error', undefined],
  ['1e2', 'error', undefined],
  ['0x10', 'error', undefined],
  ['', 'error', undefined],
  [' ', 'error', undefined],
  ['9007199254740993', '9007199254740993 (past 2^53: not a double)', undefined],
  [50.5, 50, undefined], // room versions 1-5 only
  [9007199254740992, 9007199254740992, undefined],
  [1e300, 'error', undefined],
  [true, 1, undefined],
  [false, 0, undefined],
  [null, 'error', undefined],
  [{}, 'error', undefined],
  [[], 'error', undefined],
];

t.test('the reconciler reads a level exactly as Synapse does, or not at all', async (t) => {
  for (const [value, pythonInt, corporal] of ROWS) {
    const read = powerLevel(value);
    t.equal(read, corporal, `${JSON.stringify(value)} (Python: ${pythonInt})`);
    if (read !== undefined) t.ok(read === pythonInt, `${JSON.stringify(value)}: the same integer as Synapse`);
  }
});

t.test("the gateway's parser reads every value the same way (NaN for unknown)", async (t) => {
  for (const [value] of ROWS) {
    const reconciler = powerLevel(value);
    t.ok(Object.is(parsePowerLevel(value), reconciler ?? Number.NaN), `${JSON.stringify(value)}: ${reconciler}`);
  }
});

t.test("fields Synapse's validator refuses in a new event, which Corporal's write would carry", async (t) => {
  t.same(nonIntegerLevelFields({ users: { '@a:hs': 50 }, users_default: 0, kick: 50, events: { 'm.room.name': 50 }, notifications: { room: 50 } }), [], 'all integers');
  t.same(nonIntegerLevelFields({}), [], 'nothing present');
  t.same(
    nonIntegerLevelFields({ ban: '50', kick: true, users_default: null, invite: 1.5, users: { '@a:hs': 50, '@b:hs': '1_00', '@c:hs': '50' }, events: { 'm.room.name': 50, 'm.room.power_levels': '100' }, notifications: [] }),
    ['ban', 'invite', 'kick', 'users_default', 'events["m.room.power_levels"]', 'notifications', 'users["@b:hs"]', 'users["@c:hs"]'],
    'a readable string such as "50" too: Synapse refuses it in a new event',
  );
  t.same(nonIntegerLevelFields({ redact: 9007199254740992, events_default: -9007199254740992 }), ['events_default', 'redact'], 'outside canonical JSON');
  t.same(nonIntegerLevelFields({ custom: 'x', users: { '@a:hs': 1 } }), [], 'other keys are not checked by Synapse');
});
