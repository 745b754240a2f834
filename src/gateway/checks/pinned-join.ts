import type { AliasTarget } from './alias-resolver.js';
import { CLIENT_ROOT } from '../router/index.js';

/**
 * The path and query that make Synapse join (or knock on) exactly `room`: a request to
 * `…/join/{alias}[/{txnId}]` or `…/knock/{alias}` whose alias the check resolved becomes the same
 * request with the room id in the alias' place and the directory's servers as `via` parameters
 * (Synapse takes an alias' servers from its directory, and a room id's from `via`). The client's
 * other parameters stay, its own `via`/`server_name` values included: with a room id they only
 * add servers to try for that room, never another room.
 *
 * `rawPath` is the client's path as routed (canonical, under `/_matrix/client/{prefix}/`), so
 * the segment after the prefix is `join` or `knock` and the next one is the alias.
 */
export function pinnedJoinTarget(rawPath: string, rawQuery: string, prefix: string, room: AliasTarget): string {
  const afterPrefix = CLIENT_ROOT.length + prefix.length + 1;
  const actionEnd = rawPath.indexOf('/', afterPrefix);
  const aliasEnd = rawPath.indexOf('/', actionEnd + 1);
  const path = `${rawPath.slice(0, actionEnd + 1)}${encodeURIComponent(room.roomId)}${aliasEnd === -1 ? '' : rawPath.slice(aliasEnd)}`;
  const via = room.servers.map((server) => `via=${encodeURIComponent(server)}`);
  const query = [...(rawQuery === '' ? [] : [rawQuery]), ...via].join('&');
  return query === '' ? path : `${path}?${query}`;
}
