import { createLogger, type Logger } from '../common/logger.js';

/** pino's own fields of a line, left out of the text a person reads. */
const LINE_FIELDS = new Set(['level', 'time', 'component', 'msg', 'pid', 'hostname']);

/**
 * A logger for a CLI command that prints its own report (`plan`): warnings and errors that the
 * code it runs logs — a failed logout of the admin device plan opened, a rate-limited call — go to
 * `err` as `corporal: warning: <message> (key: value, …)` lines instead of being lost; anything
 * below WARN is dropped. The usual redaction applies, as for every logger.
 */
export function createWarningLogger(err: NodeJS.WritableStream): Logger {
  return createLogger({
    level: 'warn',
    component: 'cli',
    destination: { write: (line: string) => { err.write(`${warningText(line)}\n`); } },
  });
}

function warningText(line: string): string {
  const entry = JSON.parse(line) as Record<string, unknown>;
  const label = typeof entry['level'] === 'number' && entry['level'] >= 50 ? 'error' : 'warning';
  const details = Object.entries(entry)
    .filter(([key]) => !LINE_FIELDS.has(key))
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return `corporal: ${label}: ${String(entry['msg'] ?? '')}${details.length > 0 ? ` (${details.join(', ')})` : ''}`;
}
