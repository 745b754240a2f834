import { createRoom } from './matrix-client.js';

/** What {@link threeUsersInTwoRooms} made: two rooms, three user ids and a policy for them. */
export interface ThreeUsersInTwoRooms {
  publicRoom: string;
  privateRoom: string;
  alice: string;
  bob: string;
  carol: string;
  /**
   * Alice in both rooms (at 50 in the private one), Bob in the public one, Carol inactive in none;
   * display names `Alice`, `Bob` and `Carol`, `plain` credentials from `credential(localpart)`.
   */
  policy: {
    schemaVersion: 2;
    flags: Record<string, never>;
    managedRoomIds: string[];
    users: Array<{ id: string; active: boolean; authType: 'plain'; authCredential: string; displayName: string; joinedRooms: Array<{ roomId: string; powerLevel: number }> }>;
  };
}

/**
 * Creates a public and a private room on the homeserver at `homeserverUrl` as the admin
 * (`adminToken`) and returns the three-user policy the control-plane tests share, on `localhost`.
 */
export async function threeUsersInTwoRooms(homeserverUrl: string, adminToken: string, credential: (localpart: string) => string = () => 'pw'): Promise<ThreeUsersInTwoRooms> {
  const publicRoom = await createRoom(homeserverUrl, adminToken, { preset: 'public_chat' });
  const privateRoom = await createRoom(homeserverUrl, adminToken, { preset: 'private_chat' });
  const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((localpart) => `@${localpart}:localhost`) as [string, string, string];
  const user = (id: string, active: boolean, displayName: string, joinedRooms: Array<{ roomId: string; powerLevel: number }>) => ({
    id, active, authType: 'plain' as const, authCredential: credential(id.slice(1, id.indexOf(':'))), displayName, joinedRooms,
  });
  return {
    publicRoom,
    privateRoom,
    alice,
    bob,
    carol,
    policy: {
      schemaVersion: 2,
      flags: {},
      managedRoomIds: [publicRoom, privateRoom],
      users: [
        user(alice, true, 'Alice', [{ roomId: publicRoom, powerLevel: 0 }, { roomId: privateRoom, powerLevel: 50 }]),
        user(bob, true, 'Bob', [{ roomId: publicRoom, powerLevel: 0 }]),
        user(carol, false, 'Carol', []),
      ],
    },
  };
}
