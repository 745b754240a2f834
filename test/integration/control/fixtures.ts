import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CorporalConfig } from '../../../src/common/config/types.js';
import type { AuthType, PolicySnapshot, SnapshotUser } from '../../../src/policy/snapshot.js';
import type { SynapseHandle } from '../../support/start-synapse.js';

/** The `AuthSharedSecret` of every reconciler test. */
export const AUTH_SECRET = 'corporal-auth-shared-secret';

/** A 1×1 transparent PNG. */
export const PNG_1X1 = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64');

/** Config sections the reconciler reads, for a test homeserver. */
export function reconcilerConfig(
  hs: SynapseHandle,
  overrides: { baseUrl?: string; timeoutMs?: number; corporal?: Partial<CorporalConfig['Corporal']>; reconciliation?: Partial<CorporalConfig['Reconciliation']> } = {},
): Pick<CorporalConfig, 'Matrix' | 'Corporal' | 'Reconciliation'> {
  return {
    Matrix: {
      HomeserverDomainName: hs.serverName,
      HomeserverApiEndpoint: overrides.baseUrl ?? hs.baseUrl,
      AuthSharedSecret: AUTH_SECRET,
      RegistrationSharedSecret: hs.registrationSharedSecret,
      TimeoutMilliseconds: overrides.timeoutMs ?? 15_000,
    },
    Corporal: { UserID: `@corporal:${hs.serverName}`, AccessToken: null, ...overrides.corporal },
    Reconciliation: {
      RetryIntervalMilliseconds: 60_000,
      RetryMaxIntervalMilliseconds: 600_000,
      Concurrency: 4,
      ResyncIntervalMilliseconds: 0,
      LiftRateLimits: true,
      DeactivatedDisplayNameMarker: false,
      AvatarMaxBytes: 64 * 1024,
      ...overrides.reconciliation,
    },
  };
}

/** One policy user; `joinedRooms` as [roomId, level] pairs. */
export interface UserSpec {
  id: string;
  active?: boolean;
  authType?: AuthType;
  authCredential?: string;
  displayName?: string;
  avatarUri?: string;
  joinedRooms?: [string, number][];
}

/** A hand-built policy snapshot (the policy compiler is written elsewhere). */
export function snapshot(generation: number, managedRoomIds: string[], users: UserSpec[], flags: Partial<PolicySnapshot['flags']> = {}): PolicySnapshot {
  const compiled = new Map<string, SnapshotUser>();
  for (const spec of users) {
    compiled.set(spec.id, {
      id: spec.id,
      active: spec.active ?? true,
      authType: spec.authType ?? 'plain',
      authCredential: spec.authCredential ?? 'password',
      displayName: spec.displayName ?? '',
      avatarUri: spec.avatarUri ?? '',
      joinedRooms: new Map(spec.joinedRooms ?? []),
      powerLevelsManaged: true,
      forbidRoomCreation: null,
      forbidEncryptedRoomCreation: null,
      forbidUnencryptedRoomCreation: null,
    });
  }
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
      ...flags,
    },
    managedRoomIds: new Set(managedRoomIds),
    users: compiled,
    userIdsByLowercase: new Map([...compiled.keys()].map((id) => [id.toLowerCase(), id])),
    hooks: {
      beforeAnyRequest: [],
      beforeAuthenticatedRequest: [],
      beforeAuthenticatedPolicyCheckedRequest: [],
      beforeUnauthenticatedRequest: [],
      afterAnyRequest: [],
      afterAuthenticatedRequest: [],
      afterAuthenticatedPolicyCheckedRequest: [],
      afterUnauthenticatedRequest: [],
    },
  };
}

/** A local HTTP server on 127.0.0.1 (port 0); `url` has no trailing slash. */
export interface LocalServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Starts a node:http server with `handler` on a free loopback port. */
export async function startLocalServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<LocalServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
