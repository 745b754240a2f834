/**
 * Policy checks of the firewalling gateway: which route ids are policed and how (docs/firewall.md).
 * The pipeline looks a route id up in {@link POLICY_CHECKS}, applies {@link tokenDenial}, reads and
 * parses the body when the check needs it, then runs the check.
 */
export { POLICY_CHECKS, REFERENCE_POLICED_ROUTES } from './registry.js';
export type { CheckInput, CurrentPowerLevels, PolicyCheck } from './check-input.js';
export { ALLOW, DECISIONS } from './decision.js';
export type { Decision, Denial } from './decision.js';
export { parseJsonBody } from '../json-body.js';
export type { JsonBody } from '../json-body.js';
export { ManagedLevelsIndex } from './managed-levels-index.js';
export { tokenDenial } from './token-rules.js';
export type { TokenState } from './token-rules.js';
export { createAliasResolver } from './alias-resolver.js';
export { createEncryptionReader } from './encryption-reader.js';
export type { EncryptionReader, RoomEncryptionState } from './encryption-reader.js';
export type { AliasLookup } from './alias-resolver.js';
export { createDirectoryLookup } from './directory-lookup.js';
export { createPowerLevelsReader } from './power-levels-reader.js';
export type { PowerLevelsReader } from './power-levels-reader.js';
export type { UpstreamLookupOptions } from './upstream-json.js';
export { HalfCreatedRoomGuard } from './half-created-rooms.js';
export type { CreationWatch } from './half-created-rooms.js';
