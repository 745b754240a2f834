import { CorporalError } from '../../common/errors.js';
import { settleWithin } from '../../common/deadline.js';
import type { Action, ActionType } from '../actions.js';
import type { ActionScope, ApplyContext } from './apply-context.js';
import { corporalJoin, joinRoom, leaveRoom, setPowerLevels } from './room-handlers.js';
import { activateUser, finishLock, createUser, deactivateUser, setAvatar, setDisplayName, setPassword } from './user-handlers.js';

/** Executes one action against Synapse; resolves when done, rejects with a `CorporalError`. */
export type ActionHandler<A extends Action> = (action: A, ctx: ApplyContext, scope: ActionScope) => Promise<void>;

/** One handler per action type. */
export const ACTION_HANDLERS: { readonly [T in ActionType]: ActionHandler<Extract<Action, { type: T }>> } = Object.freeze({
  'user.create': createUser,
  'user.set_password': setPassword,
  'user.set_display_name': setDisplayName,
  'user.set_avatar': setAvatar,
  'user.activate': activateUser,
  'user.deactivate': deactivateUser,
  'user.finish_lock': finishLock,
  'room.join': joinRoom,
  'room.leave': leaveRoom,
  'room.corporal_join': corporalJoin,
  'room.users_set_power_levels': setPowerLevels,
});

/** Error code of an action that did not finish within its deadline. */
export const ACTION_TIMEOUT = 'CORP_ERR_ACTION_TIMEOUT';

/**
 * Runs the action's handler with a deadline. On timeout the action is reported failed at once;
 * its calls still in flight end on their own per-call deadlines, and the caller starts none of the
 * user's next actions but a lock (`applyPlan`).
 */
export async function applyAction(action: Action, ctx: ApplyContext, scope: ActionScope, timeoutMs: number): Promise<void> {
  const handler = ACTION_HANDLERS[action.type] as ActionHandler<Action>;
  await settleWithin(handler(action, ctx, scope), timeoutMs, () => {
    throw new CorporalError(ACTION_TIMEOUT, `${action.type} did not finish within ${timeoutMs} ms`, { source: 'upstream', status: 504, retryable: true });
  });
}
