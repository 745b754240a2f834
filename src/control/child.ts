/**
 * Control child entry point and composition root (policy providers and store, reconciler, HTTP
 * API). Forked by the supervisor with `serialization: 'advanced'`; waits for `control.init`.
 *
 * Signals are ignored here: a Ctrl-C reaches the whole process group, and the supervisor decides
 * the shutdown order (drain the gateway first, then stop this child with `control.shutdown`). If
 * the supervisor disappears (the IPC channel closes), the child exits on its own.
 */
import { createLogger, logLevelOf, type Logger } from '../common/logger.js';
import { describeError } from '../common/errors.js';
import { ipcMessage, isIpcMessage, type ControlToSupervisor, type SupervisorToControl, type Unversioned } from '../common/ipc.js';

const SUPERVISOR_MESSAGE_TYPES: readonly SupervisorToControl['type'][] = ['control.init', 'control.shutdown', 'gateway.status.response'];

let logger: Logger | null = null;
let stopping = false;

function send(message: Unversioned<ControlToSupervisor>): void {
  if (process.connected) process.send?.(ipcMessage<ControlToSupervisor>(message));
}

function exit(code: number): void {
  logger?.flush();
  process.exit(code);
}

process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('disconnect', () => {
  if (!stopping) logger?.warn('supervisor went away; control child exiting');
  exit(0);
});
process.on('uncaughtException', (err) => {
  logger?.fatal({ err: describeError(err) }, 'control child crashed');
  exit(1);
});

process.on('message', (message: unknown) => {
  if (!isIpcMessage(message, SUPERVISOR_MESSAGE_TYPES)) return;
  const typed = message as SupervisorToControl;
  switch (typed.type) {
    case 'control.init':
      logger = createLogger({ level: logLevelOf(typed.config.Misc), component: 'control' });
      logger.info({ pid: process.pid }, 'control child started');
      send({ type: 'control.ready' });
      break;
    case 'control.shutdown':
      stopping = true;
      logger?.info('control child stopping');
      exit(0);
      break;
    case 'gateway.status.response':
      break;
  }
});
