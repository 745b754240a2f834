import type { CorporalConfig } from '../common/config/types.js';
import type { Logger } from '../common/logger.js';
import { describeError } from '../common/errors.js';
import {
  ipcMessage, type ControlToSupervisor, type EncodedSnapshot, type GatewayToSupervisor, type IdentityEvictMessage, type InheritedPolicy, type RoomsRepairMessage,
  type RetainedPolicy, type SupervisorToGateway,
} from '../common/ipc.js';
import { GatewayThreads } from './gateway-threads.js';
import { ControlProcess } from './control-process.js';
import { probeListenAddresses, type ListenProbeTarget } from './listen-probe.js';
import type { RestartTrackerOptions } from './restart-tracker.js';

/** What {@link Supervisor} needs. */
export interface SupervisorOptions {
  config: CorporalConfig;
  configPath: string;
  logger: Logger;
  restart?: RestartTrackerOptions;
  /** Test only: see {@link GatewayThreads.injectFault}. */
  faultInjection?: boolean;
}

/**
 * The main thread: owns lifecycles only. Starts the gateway threads and the control child,
 * restarts whichever dies, keeps the last good policy snapshot and relays it (and token
 * evictions) to every gateway thread, and drains everything on shutdown. With the snapshot it keeps
 * the text of a policy pushed through the API ({@link RetainedPolicy}) and hands both to a
 * restarted control child, so that a child crash never reverts a push.
 */
export class Supervisor {
  readonly threads: GatewayThreads;
  readonly control: ControlProcess;
  private lastSnapshot: EncodedSnapshot | null = null;
  /** Retained with {@link lastSnapshot}: a pushed policy's text, so a restarted control child keeps it in force. */
  private retained: RetainedPolicy | null = null;
  private stopPromise: Promise<void> | null = null;
  /** False once a stop gave up on a gateway thread that did not exit ({@link GatewayThreads.drain}). */
  private cleanStop = true;

  constructor(private readonly options: SupervisorOptions) {
    this.threads = new GatewayThreads({
      config: options.config,
      logger: options.logger,
      lastSnapshot: () => this.lastSnapshot,
      onMessage: (index, message) => this.fromGateway(index, message),
      ...(options.restart ? { restart: options.restart } : {}),
      ...(options.faultInjection ? { faultInjection: true } : {}),
    });
    this.control = new ControlProcess({
      config: options.config,
      configPath: options.configPath,
      logger: options.logger,
      inherited: () => this.inherited(),
      onMessage: (message) => this.fromControl(message),
      ...(options.restart ? { restart: options.restart } : {}),
    });
  }

  /**
   * Checks that the gateway (and, when enabled, the HTTP API) address is free, then starts the
   * gateway threads (all listening) and the control child; resolves with the gateway port. Rejects
   * (nothing started) when an address is taken: see {@link probeListenAddresses}.
   */
  async start(): Promise<number> {
    await probeListenAddresses(listenTargets(this.options.config));
    const port = await this.threads.start();
    // A signal during start-up began a stop: the control child must not be forked after it.
    if (this.stopRequested) return port;
    this.control.start();
    this.options.logger.info({ threads: this.threads.configured, port }, 'corporal started');
    return port;
  }

  /** Whether {@link stop} was called (a signal arrived). */
  get stopRequested(): boolean {
    return this.stopPromise !== null;
  }

  /** Whether the stop so far left no gateway thread behind (the exit code says so: 1 when not). */
  get stoppedCleanly(): boolean {
    return this.cleanStop;
  }

  /** The (encoded) snapshot last received from the control child. */
  get snapshot(): EncodedSnapshot | null {
    return this.lastSnapshot;
  }

  /**
   * Graceful stop: threads stop accepting and finish in-flight requests until the drain deadline;
   * then the control child stops; then this resolves. Idempotent.
   *
   * In that order because a draining thread still hands repairs of half-created rooms to the
   * control child (those of requests that end during the drain, and those due later): stopped at
   * the same time, the child would be gone and the repairs dropped (quality review 18, #5). It
   * costs the child's own stop after the drain: well under a second unless a reconciliation is
   * running (at most about 9 s then).
   */
  stop(): Promise<void> {
    this.stopPromise ??= (async () => {
      const deadline = Date.now() + this.options.config.HttpGateway.DrainTimeoutMilliseconds;
      this.options.logger.info({ deadline: new Date(deadline).toISOString() }, 'shutting down: draining');
      this.cleanStop = await this.threads.drain(deadline);
      await this.control.stop();
      this.options.logger.info('shutdown complete');
    })();
    return this.stopPromise;
  }

  /**
   * Cuts a graceful stop short (a second signal): every gateway thread ends its drain at once,
   * closing its sockets, and this resolves when all have exited, or after `graceMs` at the latest.
   * A thread must close its uWS sockets before the process exits: a worker that ends with them
   * open trips a native assertion in Node, which aborts the process (SIGABRT) with a stack trace.
   */
  stopNow(graceMs = 2000): Promise<void> {
    return new Promise((resolve) => {
      setTimeout(resolve, graceMs).unref();
      this.threads.drain(Date.now()).then(() => resolve(), () => resolve());
    });
  }

  private inherited(): InheritedPolicy | null {
    const snapshot = this.lastSnapshot;
    if (snapshot === null) return null;
    const retained = this.retained ?? { pushedText: null, source: '', providerHash: null };
    return { generation: snapshot.generation, hash: snapshot.hash, ...retained };
  }

  private fromControl(message: ControlToSupervisor): void {
    switch (message.type) {
      case 'control.ready':
        this.options.logger.info({ pid: this.control.pid }, 'control child ready');
        break;
      case 'policy.accepted':
        if (this.lastSnapshot !== null && message.snapshot.generation <= this.lastSnapshot.generation) break;
        this.lastSnapshot = shareSnapshot(message.snapshot);
        this.retained = message.retained;
        // Only the snapshot goes to the threads: the retained text stays here.
        this.threads.broadcast(ipcMessage<SupervisorToGateway>({ type: 'policy.snapshot', snapshot: this.lastSnapshot }));
        break;
      case 'identity.evict':
        // Counted, never listed: the tokens are secrets.
        this.options.logger.debug({ tokens: message.tokens.length, userId: message.userId }, 'relaying a token eviction to the gateway threads');
        this.threads.broadcast(message);
        break;
      case 'gateway.status.request':
        this.control.send({
          type: 'gateway.status.response',
          requestId: message.requestId,
          threadsAlive: this.threads.alive,
          threadsConfigured: this.threads.configured,
          snapshotGeneration: this.threads.appliedGeneration,
          threads: this.threads.states,
          metrics: this.threads.requestMetrics(),
        });
        break;
    }
  }

  private fromGateway(_index: number, message: GatewayToSupervisor): void {
    if (message.type === 'identity.evict') this.threads.broadcast(message satisfies IdentityEvictMessage);
    else if (message.type === 'rest-auth.forget') this.threads.broadcast(message);
    else if (message.type === 'rooms.repair') this.handOffRepair(message);
  }

  /**
   * Relays a half-created room repair to the control child. Nothing else would ever look at that
   * room again, so a repair dropped while the child restarts is logged for the operator (with the
   * user, never a token: the message carries none).
   */
  private handOffRepair(message: RoomsRepairMessage): void {
    if (this.control.send(message)) return;
    this.options.logger.error(
      { userId: message.userId, startedAt: message.startedAt },
      'half-created room repair dropped: the control child is not running; check the rooms this user created around that time',
    );
  }
}

/** The addresses the supervisor probes before starting: the gateway's, and the HTTP API's if enabled. */
function listenTargets(config: CorporalConfig): ListenProbeTarget[] {
  const targets: ListenProbeTarget[] = [{ key: 'HttpGateway.ListenAddress', address: config.HttpGateway.ListenAddress }];
  if (config.HttpApi.Enabled) targets.push({ key: 'HttpApi.ListenAddress', address: config.HttpApi.ListenAddress });
  return targets;
}

/**
 * Copies a snapshot's bytes once into a SharedArrayBuffer: every thread posted the result reads
 * the same memory instead of receiving its own copy.
 */
function shareSnapshot(snapshot: EncodedSnapshot): EncodedSnapshot {
  const shared = new Uint8Array(new SharedArrayBuffer(snapshot.bytes.byteLength));
  shared.set(snapshot.bytes);
  return { generation: snapshot.generation, hash: snapshot.hash, bytes: shared };
}

/**
 * Installs SIGTERM/SIGINT/SIGHUP handling: the first signal drains and exits 0, a second one cuts
 * the drain short (the gateway threads close their sockets at once) and exits 1. SIGHUP (a closed
 * terminal or SSH session, a `kill -HUP` meant as a reload) would otherwise kill the process with
 * no drain; Corporal has no configuration reload to map it to.
 */
export function stopOnSignals(supervisor: Supervisor, logger: Logger): void {
  let signalled = false;
  // 1 once a second signal cut the drain short, whichever of the two stops finishes first.
  let exitCode = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      logger.warn({ signal }, 'second signal: exiting without waiting for the drain');
      exitCode = 1;
      supervisor.stopNow().then(() => { logger.flush(); process.exit(1); });
      return;
    }
    signalled = true;
    logger.info({ signal }, 'signal received');
    supervisor.stop().then(
      () => { logger.flush(); process.exit(supervisor.stoppedCleanly ? exitCode : 1); },
      (err) => { logger.error({ err: describeError(err) }, 'shutdown failed'); logger.flush(); process.exit(1); },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', onSignal);
}
