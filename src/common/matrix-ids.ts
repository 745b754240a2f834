/**
 * Matrix identifier grammar (spec "Appendices: Identifier Grammar"), as the policy (user and room
 * ids) and the configuration (`Corporal.UserID`) need it.
 */
import { isServerName } from './server-name.js';

/** Verdict on one identifier: an error refuses the policy, a warning only informs. */
export interface IdVerdict {
  error: string | null;
  warning: string | null;
}

const OK: IdVerdict = Object.freeze({ error: null, warning: null });

/** The spec's limit on user and room ids, in UTF-8 bytes, sigil and server included. */
const MAX_ID_BYTES = 255;

/** The current localpart grammar (lower case, digits, `._=-/+`). */
const CURRENT_LOCALPART = /^[a-z0-9._=\-/+]+$/;
/** Historical user ids: any printable ASCII except `:` (spec: %x21-39 / %x3B-7E). */
const HISTORICAL_LOCALPART = /^[\x21-\x39\x3b-\x7e]+$/;
/** Opaque part of a room id with a server: printable ASCII except `:`. */
const ROOM_OPAQUE = /^[\x21-\x39\x3b-\x7e]+$/;
/** Room version 12 ids carry no server: the create event's reference hash, 43 URL-safe base64 characters. */
const V12_ROOM_ID = /^![A-Za-z0-9_-]{43}$/;

/**
 * Checks a policy user id: `@localpart:domain` on `homeserverDomain`.
 *
 * Lenient for historical ids: a localpart with any printable ASCII except `:` (upper case, say) is
 * accepted with a warning, because such accounts exist on old servers; Synapse will not register
 * new ones, so Corporal cannot create them. Anything else (empty localpart, spaces, non-ASCII,
 * over 255 bytes) is an error, as is a domain other than the homeserver's.
 */
export function checkUserId(id: string, homeserverDomain: string): IdVerdict {
  if (id === '') return { error: 'user has no id', warning: null };
  const colon = id.indexOf(':');
  if (!id.startsWith('@') || colon < 0) return { error: `\`${id}\` is not a Matrix user id (expected @localpart:domain)`, warning: null };
  if (id.slice(colon + 1) !== homeserverDomain) {
    return { error: `policy user \`${id}\` is not hosted on the managed homeserver domain (${homeserverDomain})`, warning: null };
  }
  if (tooLong(id)) return { error: `user id \`${id}\` is longer than ${MAX_ID_BYTES} bytes`, warning: null };
  const localpart = id.slice(1, colon);
  if (CURRENT_LOCALPART.test(localpart)) return OK;
  if (localpart === '') return { error: `user id \`${id}\` has an empty localpart`, warning: null };
  if (!HISTORICAL_LOCALPART.test(localpart)) {
    return { error: `user id \`${id}\`: a localpart may only contain printable ASCII characters other than ':'`, warning: null };
  }
  return {
    error: null,
    warning: `user id \`${id}\` is only valid as a historical id (the localpart grammar is a-z, 0-9 and ._=-/+); Synapse will not register a new account with it, and the gateway refuses an account whose id differs from it only in case`,
  };
}

/**
 * Checks a room id: `!opaque:server` (opaque: printable ASCII except `:`, server: a valid server
 * name) or, for room version 12, `!` followed by 43 URL-safe base64 characters and no server.
 * Returns the error message, or null when valid.
 */
export function checkRoomId(id: string): string | null {
  if (id === '') return 'room id is empty';
  const problem = `\`${id}\` is not a valid Matrix room id (expected !opaque:server, or ! and 43 URL-safe base64 characters for room version 12)`;
  if (!id.startsWith('!') || tooLong(id)) return problem;
  const colon = id.indexOf(':');
  if (colon < 0) return V12_ROOM_ID.test(id) ? null : problem;
  return ROOM_OPAQUE.test(id.slice(1, colon)) && isServerName(id.slice(colon + 1)) ? null : problem;
}

function tooLong(id: string): boolean {
  // A UTF-16 unit is at most 3 UTF-8 bytes, so short ids need no byte count.
  return id.length > MAX_ID_BYTES / 3 && new TextEncoder().encode(id).length > MAX_ID_BYTES;
}
