import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CorporalConfig } from '../common/config/types.js';
import type { Logger } from '../common/logger.js';
import { describeError } from '../common/errors.js';
import {
  allMessageTypes, ipcMessage, isIpcMessage, type ControlToSupervisor, type InheritedPolicy, type SupervisorToControl, type Unversioned,
} from '../common/ipc.js';
import { RestartTracker, DEFAULT_RESTART_OPTIONS, type RestartTrackerOptions } from './restart-tracker.js';

const CHILD_ENTRY = fileURLToPath(new URL('../control/child.js', import.meta.url));
const CONTROL_MESSAGE_TYPES = allMessageTypes<ControlToSupervisor['type']>({
  'control.ready': true, 'policy.accepted': true, 'identity.evict': true, 'gateway.status.request': true,
});
/** How long a stopping child gets before it is killed. */
const SHUTDOWN_GRACE_MS = 10_000;

/** What {@link ControlProcess} needs from the supervisor. */
export interface ControlProcessOptions {
  config: CorporalConfig;
  configPath: string;
  logger: Logger;
  /** The snapshot the supervisor holds and what it retained with it, passed to every (re)started child. */
  inherited: () => InheritedPolicy | null;
  onMessage: (message: ControlToSupervisor) => void;
  restart?: RestartTrackerOptions;
}

/**
 * The supervised control child (policy, reconciler, HTTP API): forked with `serialization:
 * 'advanced'` so that snapshots keep their Maps and Sets, restarted with capped backoff when it
 * dies. While it is down, the gateway threads keep enforcing the last snapshot (fail-static).
 */
export class ControlProcess {
  private child: ChildProcess | null = null;
  private readonly tracker: RestartTracker;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: ControlProcessOptions) {
    this.tracker = new RestartTracker('control child', options.logger, options.restart ?? DEFAULT_RESTART_OPTIONS);
  }

  /** The running child's pid, if any. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Forks the child and sends it its configuration; does nothing once {@link stop} was called. */
  start(): void {
    if (this.stopping) return;
    const child = fork(CHILD_ENTRY, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child = child;
    this.tracker.started();
    child.on('message', (message: unknown) => {
      if (isIpcMessage(message, CONTROL_MESSAGE_TYPES)) this.options.onMessage(message as ControlToSupervisor);
    });
    child.on('error', (err) => this.options.logger.error({ err: describeError(err) }, 'control child error'));
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = null;
      if (this.stopping) return;
      const delayMs = this.tracker.failed(code, signal);
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        if (!this.stopping) this.start();
      }, delayMs);
    });
    this.send({ type: 'control.init', config: this.options.config, configPath: this.options.configPath, inherited: this.options.inherited() });
  }

  /**
   * Sends a message if the child is running and returns true; returns false, having sent nothing,
   * while there is no connected child (the child resyncs state on start; the caller decides
   * whether a dropped message is worth a log line). A send that fails later is logged here.
   */
  send(message: Unversioned<SupervisorToControl>): boolean {
    const child = this.child;
    if (!child?.connected) return false;
    child.send(ipcMessage<SupervisorToControl>(message), (err) => {
      if (err) this.options.logger.warn({ err: describeError(err) }, 'message to control child not delivered');
    });
    return true;
  }

  /** Asks the child to stop; kills it if it has not exited after a grace period. */
  stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const killTimer = setTimeout(() => {
        this.options.logger.warn('control child did not stop in time; killing it');
        child.kill('SIGKILL');
      }, SHUTDOWN_GRACE_MS);
      child.once('exit', () => {
        clearTimeout(killTimer);
        resolve();
      });
      this.send({ type: 'control.shutdown' });
    });
  }
}
