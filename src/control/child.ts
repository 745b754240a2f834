/**
 * Control child entry point and composition root: policy store and provider, reconciler, HTTP
 * API. Forked by the supervisor with `serialization: 'advanced'`; waits for `control.init`.
 *
 * Signals (SIGINT, SIGTERM, SIGHUP) are ignored here: a Ctrl-C or a terminal hang-up reaches the
 * whole process group, and the supervisor decides the shutdown order (drain the gateway first, then
 * stop this child with `control.shutdown`). If the supervisor disappears (the IPC channel closes),
 * the child exits on its own.
 */
import { createLogger, logLevelOf, type Logger } from '../common/logger.js';
import { describeError } from '../common/errors.js';
import { settleWithin } from '../common/deadline.js';
import { parseListenAddress } from '../common/listen-address.js';
import {
  allMessageTypes, ipcMessage, isIpcMessage, type ControlInitMessage, type ControlToSupervisor, type SupervisorToControl, type Unversioned,
} from '../common/ipc.js';
import { PolicyStore } from './policy-store.js';
import { createPolicyProvider } from './providers/create-provider.js';
import type { PolicyProvider } from './providers/provider.js';
import { GatewayStatusClient, waitForGatewayGeneration } from './gateway-status.js';
import { startHttpApi, type HttpApiServer } from './http-api/api-server.js';
import { policyRoutes } from './http-api/policy-routes.js';
import { statusRoute, type StatusRouteOptions } from './http-api/status-route.js';
import { metricsRoute } from './http-api/metrics-route.js';
import { reconcileRoutes } from './http-api/reconcile-routes.js';
import { tokenRoutes } from './http-api/token-routes.js';
import { ReconcilerHost } from './reconciler-host.js';
import { createAdminRepairQueue } from './half-created-rooms.js';
import type { RoomRepairQueue, RepairJob } from '../common/half-created-room-repair.js';

const SUPERVISOR_MESSAGE_TYPES = allMessageTypes<SupervisorToControl['type']>({
  'control.init': true, 'control.shutdown': true, 'gateway.status.response': true, 'rooms.repair': true,
});
/** How long in-flight API requests may run on after `control.shutdown`. */
const API_DRAIN_MS = 5000;
/**
 * How long reconciliation actions in flight may run on after `control.shutdown`; then they are
 * abandoned (the next pass redoes them). Below the supervisor's 10 s grace before it kills us.
 */
const RECONCILER_STOP_MS = 7000;
/**
 * How long the half-created-room repairs that are due may run on after `control.shutdown` (before
 * the reconciler stops: they use its admin session); the rest are logged as dropped. With
 * {@link RECONCILER_STOP_MS}, below the supervisor's 10 s grace.
 */
const REPAIRS_STOP_MS = 2000;

function send(message: Unversioned<ControlToSupervisor>): void {
  if (process.connected) process.send?.(ipcMessage<ControlToSupervisor>(message));
}

/**
 * Sends a message and resolves once it is written to the IPC channel: from then on the supervisor
 * receives it even if this process dies at once (the data is in the kernel's socket buffer).
 */
function sendAcknowledged(message: Unversioned<ControlToSupervisor>): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.connected || process.send === undefined) {
      reject(new Error('the IPC channel to the supervisor is closed'));
      return;
    }
    process.send(ipcMessage<ControlToSupervisor>(message), undefined, undefined, (err: Error | null) => (err ? reject(err) : resolve()));
  });
}

/** Everything this process owns, built on `control.init`, torn down on `control.shutdown`. */
class ControlChild {
  private logger: Logger | null = null;
  private provider: PolicyProvider | null = null;
  private reconciler: ReconcilerHost | null = null;
  private api: HttpApiServer | null = null;
  private statusClient: GatewayStatusClient | null = null;
  /** Room creations a gateway thread could not finish checking (common/half-created-room-repair.ts). */
  private roomRepairs: RoomRepairQueue<RepairJob> | null = null;
  private started = false;
  private stopping = false;

  async init(message: ControlInitMessage): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { config } = message;
    const logger = createLogger({ level: logLevelOf(config.Misc), component: 'control' });
    this.logger = logger;
    logger.info({ pid: process.pid, inheritedGeneration: message.inherited?.generation ?? null }, 'control child started');

    const store = new PolicyStore({
      homeserverDomain: config.Matrix.HomeserverDomainName,
      corporalUserId: config.Corporal.UserID,
      logger,
      inherited: message.inherited,
      publish: (snapshot, retained) => sendAcknowledged({ type: 'policy.accepted', snapshot, retained }),
    });
    const statusClient = new GatewayStatusClient((request) => send(request));
    this.statusClient = statusClient;
    // The reconciler starts in the background and retries its admin session while Synapse is
    // unreachable; policies that arrive meanwhile wait for it (the newest one is reconciled).
    const reconciler = new ReconcilerHost({ config, logger, gatewayCaughtUp: (generation, signal) => waitForGatewayGeneration(() => statusClient.request(), generation, { signal }) });
    this.reconciler = reconciler;
    this.roomRepairs = createAdminRepairQueue(() => reconciler.reconciler, logger);
    store.onChange((previous, next) => reconciler.onPolicy(previous?.snapshot ?? null, next.snapshot));
    reconciler.start();
    const provider = createPolicyProvider(config.PolicyProvider, store, logger);
    this.provider = provider;
    // A policy pushed before a crash of this child comes back first (same generation, nothing
    // re-sent); the provider then replaces it only with content it had not delivered before.
    await store.restoreInherited();
    // The initial load comes first: a pushed policy must never be overtaken by the restore of an
    // older saved one (last_seen_store_policy).
    await provider.start();
    if (this.stopping) return;

    if (config.HttpApi.Enabled) {
      // What `/status` and `/metrics` report on.
      const observed: StatusRouteOptions = { store, provider, gatewayStatus: () => statusClient.request(), reconcilerStatus: () => reconciler.status() };
      const address = parseListenAddress(config.HttpApi.ListenAddress);
      if (address === null) throw new Error(`invalid HttpApi.ListenAddress ${config.HttpApi.ListenAddress}`);
      this.api = await startHttpApi({
        host: address.host,
        port: address.port,
        bearerToken: config.HttpApi.AuthorizationBearerToken,
        metricsBearerToken: config.HttpApi.MetricsAuthorizationBearerToken,
        timeoutMs: config.HttpApi.TimeoutMilliseconds,
        logger,
        routes: [
          ...policyRoutes({
            store,
            provider,
            logger,
            requestFullPass: () => {
              logger.info({ generation: store.current?.generation }, 'unchanged policy re-sent or reloaded through the API: full reconciliation pass requested');
              reconciler.reconciler?.loop.trigger();
            },
          }),
          ...reconcileRoutes({ host: reconciler, store, logger }),
          ...tokenRoutes({
            host: reconciler,
            store,
            homeserverDomain: config.Matrix.HomeserverDomainName,
            evict: (tokens) => send({ type: 'identity.evict', tokens, userId: null }),
            logger,
          }),
          statusRoute(observed),
          metricsRoute(observed),
        ],
      });
      if (this.stopping) return;
    } else {
      logger.info('Not starting HTTP API server');
    }
    send({ type: 'control.ready' });
  }

  onSupervisorMessage(message: SupervisorToControl): void {
    switch (message.type) {
      case 'control.init':
        this.init(message).catch((err) => this.crash(err));
        break;
      case 'control.shutdown':
        this.shutdown().catch((err) => this.crash(err));
        break;
      case 'gateway.status.response':
        this.statusClient?.handleResponse(message);
        break;
      case 'rooms.repair':
        this.roomRepairs?.add({ userId: message.userId, roomsBefore: new Set(message.roomsBefore), startedAt: message.startedAt, passDelaysMs: message.passDelaysMs });
        break;
    }
  }

  /**
   * Stops the provider, drains the API, lets the room repairs that are due run (bounded: the
   * gateway threads handed theirs over while they drained), stops the reconciler (bounded), exits 0.
   */
  async shutdown(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.logger?.info('control child stopping');
    await this.provider?.stop();
    await Promise.all([
      this.api?.close(Date.now() + API_DRAIN_MS),
      (async () => {
        await this.roomRepairs?.close('run', REPAIRS_STOP_MS);
        await this.stopReconciler();
      })(),
    ]);
    this.exit(0);
  }

  private async stopReconciler(): Promise<void> {
    const reconciler = this.reconciler;
    if (reconciler === null) return;
    const closed = reconciler.close().then(() => false, (err: unknown) => {
      this.logger?.warn({ err: describeError(err) }, 'reconciler did not close cleanly');
      return false;
    });
    const gaveUp = await settleWithin(closed, RECONCILER_STOP_MS, () => true);
    if (gaveUp) this.logger?.warn({ waitedMs: RECONCILER_STOP_MS }, 'reconciliation actions still in flight at shutdown; abandoning them');
  }

  supervisorGone(): void {
    if (!this.stopping) this.logger?.warn('supervisor went away; control child exiting');
    this.exit(0);
  }

  crash(err: unknown): void {
    this.logger?.fatal({ err: describeError(err) }, 'control child crashed');
    this.exit(1);
  }

  private exit(code: number): never {
    this.logger?.flush();
    process.exit(code);
  }
}

const child = new ControlChild();
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('SIGHUP', () => {});
process.on('disconnect', () => child.supervisorGone());
process.on('uncaughtException', (err) => child.crash(err));
process.on('unhandledRejection', (err) => child.crash(err));
process.on('message', (message: unknown) => {
  if (isIpcMessage(message, SUPERVISOR_MESSAGE_TYPES)) child.onSupervisorMessage(message as SupervisorToControl);
});
