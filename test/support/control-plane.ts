import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../../src/common/logger.js';
import type { EncodedSnapshot, GatewayRequestMetrics } from '../../src/common/ipc.js';
import { PolicyStore, type PolicyStoreOptions } from '../../src/control/policy-store.js';
import { ReconcilerHost } from '../../src/control/reconciler-host.js';
import { testConfig } from './corporal-config.js';
import { findFreePort } from './free-port.js';

/** The homeserver domain the control-plane tests' policies live on. */
export const TEST_DOMAIN = 'example.com';

/** Gateway request counters of threads that served nothing yet, for gateway statuses in tests. */
export const NO_GATEWAY_REQUESTS: GatewayRequestMetrics = Object.freeze({
  requests: [], durations: [], abortedRequests: 0, cutRequests: 0, requestBodyBytes: 0, responseBodyBytes: 0, tokenResolutions: { cached: 0, shared: 0, whoami: 0, refused: 0 },
  hookConsultations: { ok: 0, failed: 0 }, hookExecutions: [], hookFailures: [],
});

/** `Corporal.UserID` of the stores built here. */
export const TEST_CORPORAL_USER_ID = `@corporal:${TEST_DOMAIN}`;

/** A small valid policy (schema 2); `variant` changes a display name, so each variant hashes differently. */
export function testPolicy(variant = 'a', users = 2): Record<string, unknown> {
  return {
    schemaVersion: 2,
    identificationStamp: `test-${variant}`,
    flags: { forbidRoomCreation: true },
    managedRoomIds: ['!room:example.com'],
    users: Array.from({ length: users }, (_, i) => ({
      id: `@user${i}:${TEST_DOMAIN}`,
      active: true,
      authType: 'sha256',
      authCredential: 'a'.repeat(64),
      displayName: `User ${i} ${variant}`,
      joinedRooms: [{ roomId: '!room:example.com', powerLevel: i }],
    })),
  };
}

/** {@link testPolicy} as pretty-printed text. */
export function testPolicyText(variant = 'a', users = 2): string {
  return `${JSON.stringify(testPolicy(variant, users), null, 2)}\n`;
}

/** A pino logger whose JSON lines are collected (for "what was logged" and "no secret logged" checks). */
export function captureLogger(level = 'debug'): { logger: Logger; lines: Array<Record<string, unknown>>; raw: string[] } {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const logger = pino({ level }, new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line === '') continue;
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  }));
  return { logger, lines, raw };
}

/** A store as the control child builds it, with the snapshots it publishes collected. */
export function testStore(options: { inherited?: PolicyStoreOptions['inherited']; logger?: Logger; heapLimitBytes?: number } = {}): {
  store: PolicyStore;
  published: EncodedSnapshot[];
  lines: Array<Record<string, unknown>>;
} {
  const captured = captureLogger();
  const published: EncodedSnapshot[] = [];
  const store = new PolicyStore({
    homeserverDomain: TEST_DOMAIN,
    corporalUserId: TEST_CORPORAL_USER_ID,
    logger: options.logger ?? captured.logger,
    inherited: options.inherited ?? null,
    ...(options.heapLimitBytes === undefined ? {} : { heapLimitBytes: options.heapLimitBytes }),
    publish: (snapshot) => {
      published.push(snapshot);
    },
  });
  return { store, published, lines: captured.lines };
}

/**
 * Resolves once `condition()` is true, checking every `intervalMs`; rejects with `what` after
 * `timeoutMs`. For waiting on asynchronous effects (file watches, polls), not for timing claims.
 */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Waits `ms` (to let an effect that must NOT happen have its chance). */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A reconciler host whose Synapse is a loopback port nothing listens on, so every start attempt
 * fails at connect and is retried after `retryMs` (doubling up to `retryMaxMs`; no jitter). The
 * caller starts and closes it.
 */
export async function unreachableReconcilerHost(options: { retryMs: number; retryMaxMs: number; logger?: Logger }) {
  const port = await findFreePort();
  const config = testConfig({
    homeserverUrl: `http://127.0.0.1:${port}`,
    serverName: TEST_DOMAIN,
    gatewayPort: 41080,
    policyCachePath: '/nonexistent/last-seen.json',
    overrides: { Reconciliation: { RetryIntervalMilliseconds: options.retryMs, RetryMaxIntervalMilliseconds: options.retryMaxMs } },
  });
  const captured = captureLogger();
  const host = new ReconcilerHost({ config, logger: options.logger ?? captured.logger, random: () => 1 });
  return { host, lines: captured.lines };
}
