/** The pure reconciliation planner: observed state + policy → ordered actions. */
export { planReconciliation } from './plan-reconciliation.js';
export type { Plan, PlanOptions, PlanWarning, PlanWarningCode, SkippedRoom } from './types.js';
export { avatarUriHash, NO_AVATAR_HASH } from './avatar-hash.js';
export { DEACTIVATED_DISPLAY_NAME_MARKER, hasDeactivatedMarker, stripDeactivatedMarkers } from './display-name-marker.js';
export { redactAction, redactedAvatarUri, REDACTED } from './redact-action.js';
