import type { Action } from '../actions.js';

/** What replaces a secret in a redacted action. */
export const REDACTED = '<redacted>';

/**
 * The action as it may be logged or printed (dry-run `plan`): `user.create`'s password replaced
 * by {@link REDACTED}; every other action is returned as is (none carries a secret).
 */
export function redactAction(action: Action): Action {
  if (action.type === 'user.create') return { ...action, password: REDACTED };
  return action;
}
