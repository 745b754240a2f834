import type { AuthType, HookEventType, PolicyFlags, PolicySnapshot, SnapshotHook } from './snapshot.js';
import { AUTH_TYPES, FLAG_NAMES, HOOK_EVENT_TYPES } from './vocabulary.js';

/** Counts describing a compiled policy, for `corporal check --policy` and status pages. */
export interface PolicySummary {
  generation: number;
  hash: string;
  users: {
    total: number;
    active: number;
    inactive: number;
    byAuthType: Record<AuthType, number>;
    /** Schema-1 users, whose power levels Corporal leaves alone. */
    powerLevelsUnmanaged: number;
  };
  managedRooms: number;
  /** Sum over users of their required rooms. */
  roomMemberships: number;
  hooks: {
    total: number;
    byEventType: Record<HookEventType, number>;
    /** Nested hooks (contingency / async result) are not counted. */
    byAction: Record<string, number>;
  };
  flags: PolicyFlags;
}

/** Summarises a snapshot. Pure; never includes credentials. */
export function summarisePolicy(snapshot: PolicySnapshot): PolicySummary {
  const byAuthType = Object.fromEntries(AUTH_TYPES.map((type) => [type, 0])) as Record<AuthType, number>;
  let active = 0;
  let powerLevelsUnmanaged = 0;
  let roomMemberships = 0;
  for (const user of snapshot.users.values()) {
    byAuthType[user.authType] += 1;
    if (user.active) active += 1;
    if (!user.powerLevelsManaged) powerLevelsUnmanaged += 1;
    roomMemberships += user.joinedRooms.size;
  }
  const byEventType = Object.fromEntries(HOOK_EVENT_TYPES.map((type) => [type, snapshot.hooks[type].length])) as Record<HookEventType, number>;
  const byAction: Record<string, number> = {};
  const allHooks: SnapshotHook[] = HOOK_EVENT_TYPES.flatMap((type) => [...snapshot.hooks[type]]);
  for (const hook of allHooks) byAction[hook.action] = (byAction[hook.action] ?? 0) + 1;
  return {
    generation: snapshot.generation,
    hash: snapshot.hash,
    users: { total: snapshot.users.size, active, inactive: snapshot.users.size - active, byAuthType, powerLevelsUnmanaged },
    managedRooms: snapshot.managedRoomIds.size,
    roomMemberships,
    hooks: { total: allHooks.length, byEventType, byAction },
    flags: { ...snapshot.flags },
  };
}

/** Human-readable lines of a summary (zero counts omitted), for the CLI. */
export function formatPolicySummary(summary: PolicySummary): string[] {
  const nonZero = (counts: Record<string, number>): string =>
    Object.entries(counts).filter(([, n]) => n > 0).map(([name, n]) => `${name} ${n}`).join(', ') || 'none';
  const flagsOn = FLAG_NAMES.filter((name) => summary.flags[name]);
  return [
    `policy hash ${summary.hash}`,
    `users: ${summary.users.total} (${summary.users.active} active, ${summary.users.inactive} inactive)`,
    `users by auth type: ${nonZero(summary.users.byAuthType)}`,
    ...(summary.users.powerLevelsUnmanaged > 0 ? [`users without managed power levels (schema 1): ${summary.users.powerLevelsUnmanaged}`] : []),
    `managed rooms: ${summary.managedRooms}; required memberships: ${summary.roomMemberships}`,
    `hooks: ${summary.hooks.total}${summary.hooks.total > 0 ? ` (${nonZero(summary.hooks.byEventType)})` : ''}`,
    `flags on: ${flagsOn.length > 0 ? flagsOn.join(', ') : 'none'}`,
  ];
}
