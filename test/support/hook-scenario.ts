import { compilePolicy } from '../../src/policy/compile.js';
import { hashPolicy } from '../../src/policy/hash.js';
import { loadPolicyText, loadPolicyValue, type LoadResult } from '../../src/policy/load.js';
import { startGateway, type GatewayHandle } from '../integration/gateway/fixtures/gateway-harness.js';
import { startCountingProxy, type CountingProxy } from '../integration/gateway/fixtures/http-upstream.js';
import { applySnapshot } from './firewall-scenario.js';
import { startHookRestService, type HookRestService } from './hook-rest-service.js';
import { createRoom, matrixCall, matrixRequest, registerUser, type MatrixResponse, type MatrixSession } from './matrix-client.js';
import { startSynapse, type SynapseHandle } from './start-synapse.js';

/**
 * The hook integration tests' world (test/integration/hooks/): a real Synapse, a recording
 * pass-through proxy in front of it (to see exactly what the gateway forwards), Corporal's real
 * gateway in front of that (in-process supervisor, two gateway threads, each with its offload
 * pool), and the real hook REST service. Policies are compiled by the real loader and compiler
 * and relayed to the threads as the supervisor relays the control child's.
 *
 * Users, registered directly at Synapse: `corporal` (Corporal.UserID, server admin), `alice` and
 * `bob`. Room `room`: created by alice (power 100), bob joined.
 */
export interface HookScenario {
  hs: SynapseHandle;
  /** Between the gateway and Synapse: records every forwarded request's path and headers. */
  upstream: CountingProxy;
  gateway: GatewayHandle;
  service: HookRestService;
  users: Readonly<Record<HookUser, MatrixSession>>;
  room: string;
  /** Relays a policy (schema 2, no users) with these hooks and flags; resolves once every thread applied it. */
  setHooks(hooks: readonly object[], flags?: Record<string, boolean>): Promise<void>;
  /** Relays a policy given as text, loaded as a policy file is (trailing commas, schema 1, …). */
  setPolicyText(text: string): Promise<void>;
  /** `${service.origin}/hook/<name>`, answering `hook` from now on. */
  serviceHook(name: string, hook: unknown): string;
  /** A request through the gateway as `user` (no token when null). */
  viaGateway(user: HookUser | null, method: string, path: string, options?: GatewayRequestOptions): Promise<MatrixResponse>;
  /** `user`'s account data of `type`, read at Synapse directly; null when there is none. */
  accountData(user: HookUser, type: string): Promise<Record<string, unknown> | null>;
  stop(): Promise<void>;
}

export type HookUser = 'corporal' | 'alice' | 'bob';

/** Options of {@link HookScenario.viaGateway}. */
export interface GatewayRequestOptions {
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

/** Options of {@link startHookScenario}. */
export interface HookScenarioOptions {
  /** Merged into the gateway's `HttpGateway` configuration. */
  gateway?: Record<string, unknown>;
  /** Open registration on the homeserver (`m.login.dummy`, no verification). */
  enableRegistration?: boolean;
}

/** Starts the world; stop it with `stop()` (also on failure half-way, everything started is stopped). */
export async function startHookScenario(options: HookScenarioOptions = {}): Promise<HookScenario> {
  const stack: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stack.reverse().splice(0)) await stop();
  };
  try {
    const hs = await startSynapse({ enableRegistration: options.enableRegistration ?? false });
    stack.push(() => hs.stop());
    const upstream = await startCountingProxy(hs.baseUrl);
    stack.push(() => upstream.close());
    const service = await startHookRestService();
    stack.push(() => service.close());
    // No policy provider: the scenario relays its own compiled snapshots.
    const gateway = await startGateway({ upstream: upstream.url, serverName: hs.serverName, withPolicy: false, ...(options.gateway ? { gateway: options.gateway } : {}) });
    stack.push(() => gateway.stop());
    return await populate(hs, upstream, gateway, service, stopAll);
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function populate(hs: SynapseHandle, upstream: CountingProxy, gateway: GatewayHandle, service: HookRestService, stop: () => Promise<void>): Promise<HookScenario> {
  const users = {
    corporal: { userId: hs.admin.userId, accessToken: hs.admin.accessToken, deviceId: '' },
    alice: await registerUser(hs, { localpart: 'alice', password: 'alice-pw' }),
    bob: await registerUser(hs, { localpart: 'bob', password: 'bob-pw' }),
  };
  const room = await createRoom(hs.baseUrl, users.alice.accessToken, { preset: 'public_chat' });
  await matrixCall(hs.baseUrl, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(room)}`, { token: users.bob.accessToken, body: {} });
  let generation = 1;
  const apply = async (loaded: LoadResult): Promise<void> => {
    if (!loaded.ok) throw new Error(`scenario policy invalid: ${JSON.stringify(loaded.errors)}`);
    generation += 1;
    await applySnapshot(gateway.supervisor, compilePolicy(loaded.document, { generation, hash: hashPolicy(loaded.document), loadedAt: Date.now(), source: 'test' }));
  };
  const domain = { homeserverDomain: hs.serverName };
  const scenario: HookScenario = {
    hs,
    upstream,
    gateway,
    service,
    users,
    room,
    setHooks: (hooks, flags = {}) => apply(loadPolicyValue({ schemaVersion: 2, flags, managedRoomIds: [], users: [], hooks }, domain)),
    setPolicyText: (text) => apply(loadPolicyText(text, domain)),
    serviceHook(name, hook) {
      service.defineHook(name, hook);
      return `${service.origin}/hook/${encodeURIComponent(name)}`;
    },
    viaGateway(user, method, path, request = {}) {
      return matrixRequest(gateway.baseUrl, method, path, {
        ...(user === null ? {} : { token: users[user].accessToken }),
        ...(request.rawBody !== undefined ? { rawBody: request.rawBody } : request.body === undefined ? {} : { body: request.body }),
        ...(request.headers === undefined ? {} : { headers: request.headers }),
        timeoutMs: 15_000,
      });
    },
    async accountData(user, type) {
      const session = users[user];
      const response = await matrixRequest(hs.baseUrl, 'GET', `/_matrix/client/v3/user/${encodeURIComponent(session.userId)}/account_data/${encodeURIComponent(type)}`, { token: session.accessToken });
      if (response.status === 404) return null;
      if (response.status !== 200) throw new Error(`reading account data ${type}: HTTP ${response.status} ${response.text}`);
      return response.json as Record<string, unknown>;
    },
    stop,
  };
  return scenario;
}
