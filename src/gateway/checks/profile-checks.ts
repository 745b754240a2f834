import { authenticatedCheck, type PolicyCheck } from './check-input.js';
import { ALLOW, DECISIONS } from './decision.js';
import { jsonObject, ownField } from '../json-body.js';
import { canUserUseCustomAvatar, canUserUseCustomDisplayName } from '../../policy/permissions.js';

/**
 * matrix-corporal's "deactivated" marker: a display name containing it is refused, so that a user
 * cannot make themselves look deactivated (matrix-corporal tested "contains").
 */
const DEACTIVATED_MARKER = '[x] ';

/**
 * `profile.displayname.set` (matrix-corporal route 7; the router also maps `DELETE`, the v3
 * extended-profile route and encoded keys here). Someone else's name and unmanaged users are left
 * to Synapse. A managed user may not set their own name unless `allowCustomUserDisplayNames`, and
 * then not to one containing the marker. `DELETE` clears the name, which is "" (no marker).
 */
export const profileDisplayName: PolicyCheck = authenticatedCheck('json', (input, userId) => {
  if (input.route.params['userId'] !== userId || !input.snapshot.users.has(userId)) return ALLOW;
  if (!canUserUseCustomDisplayName(input.snapshot)) return DECISIONS.deniedByPolicy;
  if (input.method === 'DELETE') return ALLOW;
  const body = jsonObject(input.body);
  if (body === null) return DECISIONS.notJson;
  const name = ownField(body, 'displayname');
  if (name === undefined || name === null) return ALLOW;
  if (typeof name !== 'string') return DECISIONS.notJson;
  return name.includes(DEACTIVATED_MARKER) ? DECISIONS.unallowedDisplayName : ALLOW;
});

/** `profile.avatar_url.set` (matrix-corporal route 8, `DELETE` included): own avatar of a managed user needs `allowCustomUserAvatars`. */
export const profileAvatarUrl: PolicyCheck = authenticatedCheck('whole', (input, userId) => {
  if (input.route.params['userId'] !== userId || !input.snapshot.users.has(userId)) return ALLOW;
  return canUserUseCustomAvatar(input.snapshot) ? ALLOW : DECISIONS.deniedByPolicy;
});
