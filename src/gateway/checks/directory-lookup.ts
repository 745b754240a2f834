import type { AliasLookup } from './alias-resolver.js';
import { getJson, type UpstreamLookupOptions } from './upstream-json.js';

/**
 * Resolves a room alias the way Synapse does for `join/{alias}` and `knock/{alias}`: through its
 * directory, `GET /_matrix/client/v3/directory/room/{alias}` (no token needed, so one answer serves
 * every requester). 200 → the room id and the `servers` to join through (strings only); 404 → null
 * (no such alias); anything else rejects, and the check refuses the request.
 */
export function createDirectoryLookup(options: UpstreamLookupOptions): AliasLookup {
  return async (alias, requester) => {
    const answer = await getJson(options, `/_matrix/client/v3/directory/room/${encodeURIComponent(alias)}`, {}, requester);
    if (answer.status === 404) return null;
    const roomId = answer.json?.['room_id'];
    if (answer.status !== 200 || typeof roomId !== 'string' || roomId === '') {
      throw new Error(`directory look-up of an alias answered HTTP ${answer.status}`);
    }
    const servers = answer.json?.['servers'];
    return { roomId, servers: Array.isArray(servers) ? servers.filter((server): server is string => typeof server === 'string' && server !== '') : [] };
  };
}
