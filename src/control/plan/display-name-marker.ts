/**
 * matrix-corporal's deactivation marker: it "deactivated" a user by prefixing the display name
 * with it. Corporal locks accounts instead, but still recognises (and removes) the marker on
 * active users, and adds it on deactivation when `Reconciliation.DeactivatedDisplayNameMarker` is on.
 */
export const DEACTIVATED_DISPLAY_NAME_MARKER = '[x] ';

/** True when `displayName` starts with the marker (matrix-corporal tested "contains"; we test the prefix). */
export function hasDeactivatedMarker(displayName: string): boolean {
  return displayName.startsWith(DEACTIVATED_DISPLAY_NAME_MARKER);
}

/**
 * `displayName` without every leading marker ("[x] [x] A" → "A"), so one reconciliation run is
 * enough to leave an unmarked name behind.
 */
export function stripDeactivatedMarkers(displayName: string): string {
  let name = displayName;
  while (hasDeactivatedMarker(name)) name = name.slice(DEACTIVATED_DISPLAY_NAME_MARKER.length);
  return name;
}
