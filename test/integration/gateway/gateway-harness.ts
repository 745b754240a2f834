import { Writable } from 'node:stream';
import { pino } from 'pino';
import { parseConfigObject } from '../../../src/common/config/index.js';
import type { CorporalConfig } from '../../../src/common/config/types.js';
import { ipcMessage, type PolicySnapshotMessage } from '../../../src/common/ipc.js';
import type { PolicySnapshot } from '../../../src/policy/snapshot.js';
import { Supervisor } from '../../../src/supervisor/supervisor.js';
import { findFreePort } from '../../support/free-port.js';

/** Options of {@link startGateway}. */
export interface StartGatewayOptions {
  /** `Matrix.HomeserverApiEndpoint`. */
  upstream: string;
  /** `HttpGateway.Threads`; default 2. */
  threads?: number;
  /** `Matrix.HomeserverDomainName`; default `localhost`. */
  serverName?: string;
  /** `Matrix.TimeoutMilliseconds`; default 10 s. */
  upstreamTimeoutMs?: number;
  /** `HttpGateway.TimeoutMilliseconds`; default 30 s. */
  exchangeTimeoutMs?: number;
  /** Merged into `HttpGateway`. */
  gateway?: Record<string, unknown>;
  /** Hand the threads a policy snapshot once they listen; default true. */
  withPolicy?: boolean;
  /** `Misc.LogLevel` of the gateway threads (they log to stdout); default `error`. */
  threadLogLevel?: string;
}

/** A running Corporal supervisor (gateway threads + control child) for a test. */
export interface GatewayHandle {
  baseUrl: string;
  port: number;
  supervisor: Supervisor;
  config: CorporalConfig;
  /** The supervisor's log lines so far (parsed JSON). */
  supervisorLogs(): Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

/**
 * A minimal policy snapshot built by hand: no users, rooms, hooks or flags. The policy compiler is
 * being written in parallel (branch `policy`); until it lands, tests that only need "a policy
 * exists" use this object.
 */
export function minimalSnapshot(generation = 1): PolicySnapshot {
  return {
    generation,
    hash: `test-${generation}`,
    loadedAt: Date.now(),
    source: 'test',
    flags: {
      allowCustomUserDisplayNames: false,
      allowCustomUserAvatars: false,
      allowCustomPassthroughUserPasswords: false,
      allowUnauthenticatedPasswordResets: false,
      forbidRoomCreation: false,
      forbidEncryptedRoomCreation: false,
      forbidUnencryptedRoomCreation: false,
      allow3pidLogin: false,
    },
    managedRoomIds: new Set(),
    users: new Map(),
    userIdsByLowercase: new Map(),
    hooks: {
      beforeAnyRequest: [], beforeAuthenticatedRequest: [], beforeAuthenticatedPolicyCheckedRequest: [], beforeUnauthenticatedRequest: [],
      afterAnyRequest: [], afterAuthenticatedRequest: [], afterAuthenticatedPolicyCheckedRequest: [], afterUnauthenticatedRequest: [],
    },
  };
}

/** Builds a full configuration for a gateway on 127.0.0.1:`port` in front of `options.upstream`. */
export function gatewayConfig(options: StartGatewayOptions, port: number): CorporalConfig {
  const serverName = options.serverName ?? 'localhost';
  const result = parseConfigObject({
    Matrix: {
      HomeserverDomainName: serverName,
      HomeserverApiEndpoint: options.upstream,
      AuthSharedSecret: 'test-shared-secret',
      TimeoutMilliseconds: options.upstreamTimeoutMs ?? 10_000,
    },
    Corporal: { UserID: `@corporal:${serverName}` },
    Reconciliation: { RetryIntervalMilliseconds: 1000 },
    HttpGateway: {
      ListenAddress: `127.0.0.1:${port}`,
      TimeoutMilliseconds: options.exchangeTimeoutMs ?? 30_000,
      Threads: options.threads ?? 2,
      AccessLog: false,
      DrainTimeoutMilliseconds: 2000,
      InternalRESTAuth: { Enabled: false },
      ...options.gateway,
    },
    HttpApi: { Enabled: false, TimeoutMilliseconds: 3000 },
    PolicyProvider: { Type: 'last_seen_store_policy', CachePath: '/nonexistent/corporal-test-policy.json' },
    Misc: { LogLevel: options.threadLogLevel ?? 'error' },
  });
  if (!result.ok) throw new Error(`test config invalid: ${JSON.stringify(result.errors)}`);
  return result.config;
}

/**
 * Starts Corporal's real supervisor in this process: its gateway threads (uWS, the real pipeline)
 * listen on a free loopback port; with `withPolicy` (default) they get {@link minimalSnapshot}
 * through the same `policy.snapshot` message the supervisor relays from the control child, and
 * this resolves once every thread applied it.
 */
export async function startGateway(options: StartGatewayOptions): Promise<GatewayHandle> {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      callback();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await findFreePort();
    const config = gatewayConfig(options, port);
    const supervisor = new Supervisor({ config, configPath: '/nonexistent/config.json', logger });
    try {
      await supervisor.start();
    } catch (err) {
      lastError = err;
      await supervisor.stop();
      continue;
    }
    if (options.withPolicy ?? true) await applySnapshot(supervisor, minimalSnapshot(1));
    let stopped: Promise<void> | null = null;
    return {
      baseUrl: `http://127.0.0.1:${port}`,
      port,
      supervisor,
      config,
      supervisorLogs: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
      stop: () => (stopped ??= supervisor.stop()),
    };
  }
  throw new Error(`gateway did not start: ${String(lastError)}`);
}

/** Relays a snapshot to every thread (as the supervisor does for the control child) and waits until all applied it. */
export async function applySnapshot(supervisor: Supervisor, snapshot: PolicySnapshot): Promise<void> {
  supervisor.threads.broadcast(ipcMessage<PolicySnapshotMessage>({ type: 'policy.snapshot', snapshot }));
  const deadline = Date.now() + 10_000;
  while (supervisor.threads.appliedGeneration !== snapshot.generation) {
    if (Date.now() > deadline) throw new Error(`gateway threads did not apply policy generation ${snapshot.generation}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
