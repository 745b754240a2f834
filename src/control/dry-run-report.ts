import type { Action, ActionType } from './actions.js';
import type { DryRun } from './loop/planner.js';
import { redactAction } from './plan/redact-action.js';
import type { PlanWarning, SkippedRoom } from './plan/types.js';

/**
 * A dry run as `GET /_matrix/corporal/plan` and `corporal plan --json` print it. Actions are
 * redacted (`redactAction`: no password leaves the process).
 */
export interface DryRunReport {
  /** Policy generation planned for (null for a policy file the CLI loaded). */
  generation: number | null;
  usersObserved: number;
  /** Synapse requests the observation took. */
  requests: number;
  /** Actions per type, in order of first appearance. */
  actionsByType: Partial<Record<ActionType, number>>;
  actions: Action[];
  warnings: PlanWarning[];
  skippedRooms: SkippedRoom[];
}

/** Builds the printable report of a dry run; every action goes through `redactAction`. */
export function dryRunReport(dryRun: Omit<DryRun, 'generation'> & { generation: number | null }): DryRunReport {
  const actionsByType: Partial<Record<ActionType, number>> = {};
  for (const action of dryRun.actions) actionsByType[action.type] = (actionsByType[action.type] ?? 0) + 1;
  return {
    generation: dryRun.generation,
    usersObserved: dryRun.usersObserved,
    requests: dryRun.requests,
    actionsByType,
    actions: dryRun.actions.map(redactAction),
    warnings: dryRun.warnings,
    skippedRooms: dryRun.skippedRooms,
  };
}

/** The report as aligned text tables (actions, warnings, skipped rooms), one string per line. */
export function formatDryRunReport(report: DryRunReport): string[] {
  const lines: string[] = [];
  const counts = Object.entries(report.actionsByType).map(([type, count]) => `${count} ${type}`).join(', ');
  lines.push(`Observed ${report.usersObserved} policy user(s) with ${report.requests} Synapse request(s).`);
  if (report.actions.length === 0) lines.push('Nothing to do: the homeserver matches the policy.');
  else {
    lines.push(`${report.actions.length} action(s) pending: ${counts}.`, '');
    lines.push(...table(['#', 'ACTION', 'USER', 'ROOM', 'DETAILS'], report.actions.map((action, i) => [String(i + 1), ...actionColumns(action)])));
  }
  if (report.warnings.length > 0) {
    lines.push('', `Warnings (${report.warnings.length}):`);
    lines.push(...table(['CODE', 'USER', 'ROOM', 'MESSAGE'], report.warnings.map((w) => [w.code, w.userId, w.roomId ?? '-', w.message])));
  }
  if (report.skippedRooms.length > 0) {
    lines.push('', `Managed rooms skipped (${report.skippedRooms.length}):`);
    lines.push(...table(['ROOM', 'REASON'], report.skippedRooms.map((room) => [room.roomId, room.reason])));
  }
  return lines;
}

/** type, user, room and the action's other fields as `key=JSON`. */
function actionColumns(action: Action): [string, string, string, string] {
  const { type, ...fields } = action as Action & { userId?: string; roomId?: string };
  const { userId, roomId, ...rest } = fields;
  const details = Object.entries(rest).map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`).join(' ');
  return [type, userId ?? '-', roomId ?? '-', details];
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]): string => `  ${cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}
