import t from 'tap';
import type { Action } from '../../../src/control/actions.js';
import { dryRunReport, formatDryRunReport } from '../../../src/control/dry-run-report.js';
import { REDACTED } from '../../../src/control/plan/index.js';

const SECRET = 'derived-password-0123456789abcdef';
const actions: Action[] = [
  { type: 'user.create', userId: '@alice:example.com', password: SECRET, passwordIsDerived: true },
  { type: 'user.set_display_name', userId: '@alice:example.com', displayName: 'Alice' },
  { type: 'room.join', userId: '@alice:example.com', roomId: '!a:example.com' },
  { type: 'room.join', userId: '@bob:example.com', roomId: '!a:example.com' },
  { type: 'room.users_set_power_levels', roomId: '!a:example.com', levels: { '@alice:example.com': 50 } },
];
const dryRun = {
  actions,
  warnings: [{ code: 'plan.room_not_managed' as const, userId: '@bob:example.com', roomId: '!x:example.com', message: 'room !x:example.com is not managed' }],
  skippedRooms: [{ roomId: '!gone:example.com', reason: 'M_NOT_FOUND' }],
  generation: 4,
  usersObserved: 2,
  requests: 9,
};

t.test('the JSON report: counts by type, redacted actions, warnings and skipped rooms as planned', async (t) => {
  const report = dryRunReport(dryRun);
  t.same(report.actionsByType, { 'user.create': 1, 'user.set_display_name': 1, 'room.join': 2, 'room.users_set_power_levels': 1 });
  t.same(Object.keys(report.actionsByType), ['user.create', 'user.set_display_name', 'room.join', 'room.users_set_power_levels'], 'in order of first appearance');
  t.same(report.actions[0], { type: 'user.create', userId: '@alice:example.com', password: REDACTED, passwordIsDerived: true });
  t.same(report.actions.slice(1), actions.slice(1), 'other actions unchanged');
  t.match(report, { generation: 4, usersObserved: 2, requests: 9, warnings: dryRun.warnings, skippedRooms: dryRun.skippedRooms });
  t.notOk(JSON.stringify(report).includes(SECRET));
  t.equal(actions[0]!.type === 'user.create' && actions[0]!.password, SECRET, 'the plan itself is not modified');
});

t.test('the table: one aligned row per action, then warnings and skipped rooms; no secret', async (t) => {
  const lines = formatDryRunReport(dryRunReport(dryRun));
  const text = lines.join('\n');
  t.notOk(text.includes(SECRET));
  t.match(lines[0], 'Observed 2 policy user(s) with 9 Synapse request(s).');
  t.match(lines[1], '5 action(s) pending: 1 user.create, 1 user.set_display_name, 2 room.join, 1 room.users_set_power_levels.');
  const header = lines.findIndex((line) => line.trimStart().startsWith('#'));
  const rows = lines.slice(header, header + 6);
  t.same(rows.map((row) => row.trim().split(/ {2,}/)), [
    ['#', 'ACTION', 'USER', 'ROOM', 'DETAILS'],
    ['1', 'user.create', '@alice:example.com', '-', 'password=<redacted> passwordIsDerived=true'],
    ['2', 'user.set_display_name', '@alice:example.com', '-', 'displayName=Alice'],
    ['3', 'room.join', '@alice:example.com', '!a:example.com'],
    ['4', 'room.join', '@bob:example.com', '!a:example.com'],
    ['5', 'room.users_set_power_levels', '-', '!a:example.com', 'levels={"@alice:example.com":50}'],
  ]);
  const userColumn = rows[0]!.indexOf('USER');
  const roomColumn = rows[0]!.indexOf('ROOM');
  for (const row of rows.slice(1)) {
    t.match(row.slice(userColumn), /^[@-]/, 'users aligned');
    t.match(row.slice(roomColumn), /^[!-]/, 'rooms aligned');
  }
  t.ok(lines.includes('Warnings (1):'));
  t.match(text, /plan\.room_not_managed +@bob:example\.com +!x:example\.com +room !x:example\.com is not managed/);
  t.ok(lines.includes('Managed rooms skipped (1):'));
  t.match(text, /!gone:example\.com +M_NOT_FOUND/);
});

t.test('an empty plan says there is nothing to do', async (t) => {
  const lines = formatDryRunReport(dryRunReport({ ...dryRun, actions: [], warnings: [], skippedRooms: [] }));
  t.same(lines, ['Observed 2 policy user(s) with 9 Synapse request(s).', 'Nothing to do: the homeserver matches the policy.']);
});
