import { compilePolicy } from '../../src/policy/compile.js';
import { hashPolicy } from '../../src/policy/hash.js';
import { loadPolicyValue } from '../../src/policy/load.js';
import type { PolicyFlags } from '../../src/policy/snapshot.js';
import type { PolicySnapshot } from '../../src/policy/snapshot.js';
import { encodeSnapshot } from '../../src/policy/transport.js';
import { ipcMessage, type PolicySnapshotMessage } from '../../src/common/ipc.js';
import type { Supervisor } from '../../src/supervisor/supervisor.js';
import { startGateway, type GatewayHandle } from '../integration/gateway/fixtures/gateway-harness.js';
import { createRoom, matrixCall, matrixRequest, registerUser, type MatrixResponse, type MatrixSession } from './matrix-client.js';
import { startSynapse, type SynapseHandle, type StartSynapseOptions } from './start-synapse.js';

/**
 * A real Synapse with Corporal's real gateway in front (in-process supervisor, two gateway
 * threads), users and rooms set up directly at Synapse, and a policy compiled by the real policy
 * compiler and relayed to the threads. Used by the firewall integration tests
 * (test/integration/firewall/checks-*.test.ts), which send requests through the gateway and then
 * read Synapse's state directly.
 *
 * Users: `corporal` (Corporal.UserID, server admin), `alice` (managed, must be in `managed` at
 * level 50), `pat` (managed, passthrough, must be in `managed` at level 0), `carol` (managed, no
 * rooms), `bob` (unmanaged, level 100 in `managed`, so Synapse itself would let him kick and
 * demote). Rooms, all public and created by `corporal`: `managed` (alice, pat and bob joined),
 * `open` (managed, nobody listed; bob joined; alias `#open`), `knockable` (managed, knock join
 * rule), `free` (unmanaged; alias `#free`). The policy also manages `dave`, who is not registered.
 */
export interface FirewallScenario {
  hs: SynapseHandle;
  gateway: GatewayHandle;
  users: Readonly<Record<ScenarioUser, MatrixSession>>;
  rooms: Readonly<Record<ScenarioRoom, string>>;
  aliases: Readonly<{ open: string; free: string }>;
  /** Compiles and relays the scenario policy with these flags, user fields and further managed rooms (a new generation). */
  setPolicy(flags?: Partial<PolicyFlags>, userFields?: Partial<Record<ScenarioUser, Record<string, unknown>>>, moreManagedRoomIds?: readonly string[]): Promise<void>;
  /** A request through the gateway as `user` (no token when null). */
  viaGateway(user: ScenarioUser | null, method: string, path: string, body?: unknown, rawBody?: string): Promise<MatrixResponse>;
  /** A state event's content read at Synapse (admin API); null when there is none. */
  stateOf(roomId: string, type: string, stateKey?: string): Promise<Record<string, unknown> | null>;
  /** `user`'s membership in `roomId` ('join', 'leave', 'ban', 'invite', 'knock') or null. */
  membershipOf(roomId: string, user: ScenarioUser): Promise<string | null>;
  stop(): Promise<void>;
}

export type ScenarioUser = 'corporal' | 'alice' | 'pat' | 'carol' | 'bob';
export type ScenarioRoom = 'managed' | 'open' | 'knockable' | 'free';

/** Starts the scenario; pass Synapse options the tests need (e.g. registration, login tokens). */
export async function startFirewallScenario(synapse: StartSynapseOptions = {}): Promise<FirewallScenario> {
  const hs = await startSynapse(synapse);
  let gateway: GatewayHandle | null = null;
  try {
    // No policy provider: the scenario relays its own compiled snapshots (see applySnapshot).
    gateway = await startGateway({ upstream: hs.baseUrl, serverName: hs.serverName, withPolicy: false });
    return await populate(hs, gateway);
  } catch (err) {
    await gateway?.stop();
    await hs.stop();
    throw err;
  }
}

async function populate(hs: SynapseHandle, gateway: GatewayHandle): Promise<FirewallScenario> {
  const register = (localpart: string): Promise<MatrixSession> => registerUser(hs, { localpart, password: `${localpart}-pw` });
  const users = {
    // startSynapse registers the admin as `corporal` (Corporal.UserID of the gateway's config).
    corporal: { userId: hs.admin.userId, accessToken: hs.admin.accessToken, deviceId: '' },
    alice: await register('alice'),
    pat: await register('pat'),
    carol: await register('carol'),
    bob: await register('bob'),
  };
  const corporal = users.corporal.accessToken;
  const publicRoom = (extra: Record<string, unknown>): Promise<string> =>
    createRoom(hs.baseUrl, corporal, { preset: 'public_chat', room_version: '11', ...extra });
  const levels = (entries: Record<string, number>) => ({ power_level_content_override: { users: { [users.corporal.userId]: 100, ...entries } } });
  const rooms = {
    managed: await publicRoom(levels({ [users.alice.userId]: 50, [users.bob.userId]: 100 })),
    open: await publicRoom({ room_alias_name: 'open' }),
    knockable: await publicRoom({ initial_state: [{ type: 'm.room.join_rules', state_key: '', content: { join_rule: 'knock' } }] }),
    free: await publicRoom({ room_alias_name: 'free' }),
  };
  const joinDirectly = (session: MatrixSession, roomId: string) =>
    matrixCall(hs.baseUrl, 'POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: session.accessToken, body: {} });
  for (const member of [users.alice, users.pat, users.bob]) await joinDirectly(member, rooms.managed);
  await joinDirectly(users.bob, rooms.open);

  let generation = 1;
  const scenario: FirewallScenario = {
    hs,
    gateway,
    users,
    rooms,
    aliases: { open: `#open:${hs.serverName}`, free: `#free:${hs.serverName}` },
    async setPolicy(flags = {}, userFields = {}, moreManagedRoomIds = []) {
      const managedUser = (name: ScenarioUser, authType: string, joinedRooms: unknown[]) => ({
        id: users[name].userId, active: true, authType, authCredential: `${name}-pw`, joinedRooms, ...userFields[name],
      });
      const document = {
        schemaVersion: 2,
        flags,
        managedRoomIds: [rooms.managed, rooms.open, rooms.knockable, ...moreManagedRoomIds],
        users: [
          managedUser('alice', 'plain', [{ roomId: rooms.managed, powerLevel: 50 }]),
          managedUser('pat', 'passthrough', [{ roomId: rooms.managed, powerLevel: 0 }]),
          managedUser('carol', 'plain', []),
          // Managed but never registered (the reconciler is not running): registration must not take the id.
          { id: `@dave:${hs.serverName}`, active: true, authType: 'plain', authCredential: 'dave-pw', joinedRooms: [] },
        ],
      };
      const loaded = loadPolicyValue(document, { homeserverDomain: hs.serverName });
      if (!loaded.ok) throw new Error(`scenario policy invalid: ${JSON.stringify(loaded.errors)}`);
      generation += 1;
      const snapshot = compilePolicy(loaded.document, { generation, hash: hashPolicy(loaded.document), loadedAt: Date.now(), source: 'test' });
      await applySnapshot(gateway.supervisor, snapshot);
    },
    viaGateway(user, method, path, body, rawBody) {
      return matrixRequest(gateway.baseUrl, method, path, {
        ...(user === null ? {} : { token: users[user].accessToken }),
        ...(rawBody !== undefined ? { rawBody } : body === undefined ? {} : { body }),
        timeoutMs: 15_000,
      });
    },
    async stateOf(roomId, type, stateKey = '') {
      // The admin API reads any room, whoever is in it.
      const path = `/_synapse/admin/v1/rooms/${encodeURIComponent(roomId)}/state`;
      const { state } = await matrixCall<{ state: { type: string; state_key: string; content: Record<string, unknown> }[] }>(hs.baseUrl, 'GET', path, { token: corporal });
      const event = state.find((e) => e.type === type && e.state_key === stateKey);
      return event === undefined ? null : event.content;
    },
    async membershipOf(roomId, user) {
      const content = await scenario.stateOf(roomId, 'm.room.member', users[user].userId);
      return typeof content?.['membership'] === 'string' ? content['membership'] : null;
    },
    async stop() {
      await gateway.stop();
      await hs.stop();
    },
  };
  await scenario.setPolicy();
  return scenario;
}

/**
 * Relays a snapshot to every gateway thread exactly as the supervisor relays the control child's
 * (encoded bytes in a `policy.snapshot` message) and waits until all of them applied it.
 */
export async function applySnapshot(supervisor: Supervisor, snapshot: PolicySnapshot): Promise<void> {
  const encoded = { generation: snapshot.generation, hash: snapshot.hash, bytes: encodeSnapshot(snapshot) };
  supervisor.threads.broadcast(ipcMessage<PolicySnapshotMessage>({ type: 'policy.snapshot', snapshot: encoded }));
  const deadline = Date.now() + 10_000;
  while (supervisor.threads.appliedGeneration !== snapshot.generation) {
    if (Date.now() > deadline) throw new Error(`gateway threads did not apply policy generation ${snapshot.generation}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** One way of writing a request for a policed action. */
export interface RequestVariant {
  method: string;
  path: string;
  /** What makes it different, for assertion messages. */
  label: string;
}

/** The action to write in every form. */
export interface VariantSpec {
  method: 'POST' | 'PUT' | 'DELETE';
  /** Segments after the client prefix; `{name}` is a param. */
  template: string;
  params: Readonly<Record<string, string>>;
  /** Synapse's `register_txn_path`: the POST also exists as `PUT <path>/{txnId}`. */
  txn?: boolean;
  /** Client prefixes; default `r0`, `v3`, `api/v1`, `unstable`. */
  prefixes?: readonly string[];
}

/** Percent-encodes every byte but ASCII letters and digits (Synapse decodes each param with `unquote`). */
export function encodeEveryByte(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Only what must be escaped in a path segment (`#`, `%`, `/`, `?`, spaces and non-ASCII). */
function encodeMinimal(value: string): string {
  return value.replace(/[%#/?\s]|[^\x20-\x7e]/gu, (c) => encodeURIComponent(c));
}

let txnCounter = 0;

/**
 * Every form of one action that Synapse executes (or that the gateway must police anyway): each
 * prefix × params written minimally or with every byte percent-encoded (event types included:
 * `m%2Eroom%2Eencryption`) × the plain and the txn form × with and without a trailing slash.
 */
export function requestVariants(spec: VariantSpec): RequestVariant[] {
  const variants: RequestVariant[] = [];
  const seen = new Set<string>();
  for (const prefix of spec.prefixes ?? ['r0', 'v3', 'api/v1', 'unstable']) {
    for (const [encodingName, encode] of [['minimal', encodeMinimal], ['encoded', encodeEveryByte]] as const) {
      const rest = spec.template.replace(/\{([A-Za-z]+)\}/g, (_, name: string) => encode(spec.params[name] ?? ''));
      const forms: [string, string][] = [[spec.method, `/_matrix/client/${prefix}/${rest}`]];
      if (spec.txn) forms.push(['PUT', `/_matrix/client/${prefix}/${rest}/txn${++txnCounter}`]);
      for (const [method, path] of forms) {
        // A path that already ends in `/` (an empty last param) gets no second one: `//` is
        // non-canonical, answered 301 and never forwarded.
        for (const slash of path.endsWith('/') ? [''] : ['', '/']) {
          const key = `${method} ${path}${slash}`;
          if (seen.has(key)) continue; // a template without params is the same in both encodings
          seen.add(key);
          variants.push({ method, path: `${path}${slash}`, label: `${method} ${prefix} ${encodingName}${method !== spec.method ? ' txn' : ''}${slash ? ' slash' : ''}` });
        }
      }
    }
  }
  return variants;
}
