import { FindingsCollector, type FindingsSink } from './findings.js';
import { childPointer, type PolicyFindings } from './issues.js';
import { checkRoomId } from '../common/matrix-ids.js';
import { isJsonObject } from '../common/json-object.js';
import { checkPolicyShape } from './schema.js';
import { checkCorporalUserEntries } from './corporal-user-entry.js';
import { validateHooks } from './validate-hooks.js';
import { validateUsers, type RoomFacts } from './validate-users.js';

/** What validation needs to know about the deployment. */
export interface ValidateOptions {
  /** `Matrix.HomeserverDomainName`: every managed user must be on it. */
  homeserverDomain: string;
  /** `Corporal.UserID`: an entry for it is warned about (corporal-user-entry.ts). Absent: no such check. */
  corporalUserId?: string;
}

/**
 * Validates a normalised policy document (the output of `normalisePolicy`) and returns its errors
 * and warnings, each with the JSON pointer of the offending value: all of them, up to the bound of
 * {@link FindingsCollector.report}. The policy may be compiled only when `errors` is empty. Pure;
 * the document is not modified.
 *
 * Order: JSON types (ajv, {@link checkPolicyShape}), then semantics: managed room ids, users
 * (validate-users.ts), hooks (validate-hooks.ts). Values of a wrong type are reported once, by the
 * type check, and skipped by the semantic checks.
 */
export function validatePolicy(document: unknown, options: ValidateOptions): PolicyFindings {
  const findings = new FindingsCollector();
  validatePolicyInto(document, options, findings);
  return findings.report();
}

/** {@link validatePolicy}, putting its errors and warnings into `findings`. */
export function validatePolicyInto(document: unknown, options: ValidateOptions, findings: FindingsSink): void {
  checkPolicyShape(document, findings.errors);
  if (!isJsonObject(document)) return;
  const rooms = checkManagedRooms(document['managedRoomIds'], findings);
  validateUsers(document['users'], { homeserverDomain: options.homeserverDomain, rooms }, findings);
  validateHooks(document['hooks'], findings);
  const users = document['users'];
  if (options.corporalUserId !== undefined && Array.isArray(users)) {
    checkCorporalUserEntries(users, options.corporalUserId, findings.warnings);
  }
}

/** Checks `managedRoomIds`; returns the room facts the user checks start from. */
function checkManagedRooms(roomIds: unknown, findings: FindingsSink): Map<string, RoomFacts> {
  const rooms = new Map<string, RoomFacts>();
  if (!Array.isArray(roomIds)) return rooms;
  roomIds.forEach((roomId: unknown, index) => {
    if (typeof roomId !== 'string') return;
    const pointer = childPointer('/managedRoomIds', index);
    if (rooms.has(roomId)) {
      findings.warnings.push({ pointer, message: `room \`${roomId}\` is listed more than once` });
      return;
    }
    const error = checkRoomId(roomId);
    if (error !== null) findings.errors.push({ pointer, message: error });
    rooms.set(roomId, { managed: true, error, lastUser: -1 });
  });
  return rooms;
}
