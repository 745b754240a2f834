/**
 * Route ids: the stable names of the Synapse actions the gateway recognises. The same strings are
 * used in code, logs, metrics, hook matching and the fixtures in test/fixtures/routes/.
 *
 * Each entry is `[id, doc]`. Writes and reads of the same resource have different ids (policy
 * checks apply to writes only); paths Synapse would answer with 404/405 may map to a write id
 * (deliberate over-matching, see docs/routing.md) but never the other way round.
 */
export const ROUTE_ID_DOCS = [
  ['login', 'POST …/login: password, token, appservice and module logins (intercepted by the gateway).'],
  ['login.get_token', 'POST v1/login/get_token or unstable/org.matrix.msc3882/login/token: mints an m.login.token for a new device.'],
  ['logout', 'POST …/logout: ends the calling session.'],
  ['logout.all', 'POST …/logout/all: ends every session of the calling user.'],
  ['register', 'POST …/register: account registration (also appservice and guest registration).'],
  ['room.create', 'POST …/createRoom or PUT …/createRoom/{txnId}.'],
  ['room.join', 'POST …/rooms/{roomId}/join or PUT …/rooms/{roomId}/join/{txnId}.'],
  ['room.join_by_alias', 'POST …/join/{roomIdOrAlias} or PUT …/join/{roomIdOrAlias}/{txnId}.'],
  ['room.knock', 'POST …/knock/{roomIdOrAlias} (PUT …/{txnId} over-matched).'],
  ['room.invite', 'POST …/rooms/{roomId}/invite or PUT …/invite/{txnId}; the target (or 3PID) is in the body.'],
  ['room.leave', 'POST …/rooms/{roomId}/leave or PUT …/leave/{txnId}.'],
  ['room.kick', 'POST …/rooms/{roomId}/kick or PUT …/kick/{txnId}; the target is in the body.'],
  ['room.ban', 'POST …/rooms/{roomId}/ban or PUT …/ban/{txnId}; the target is in the body.'],
  ['room.unban', 'POST …/rooms/{roomId}/unban or PUT …/unban/{txnId}; the target is in the body.'],
  ['room.forget', 'POST …/rooms/{roomId}/forget or PUT …/forget/{txnId}.'],
  ['room.state.member', 'PUT …/rooms/{roomId}/state/m.room.member[/{stateKey}]: a full membership API (stateKey = target).'],
  ['room.state.encryption', 'PUT …/rooms/{roomId}/state/m.room.encryption[/{stateKey}], any state key.'],
  ['room.state.power_levels', 'PUT …/rooms/{roomId}/state/m.room.power_levels[/{stateKey}], any state key.'],
  ['room.state.tombstone', 'PUT …/rooms/{roomId}/state/m.room.tombstone[/{stateKey}], any state key: marks the room replaced.'],
  ['room.state.redaction', 'PUT …/rooms/{roomId}/state/m.room.redaction[/{stateKey}], any state key: Synapse sends it as a redaction of content.redacts.'],
  ['room.state.other', 'PUT …/rooms/{roomId}/state/{eventType}[/{stateKey}] for every other (decoded) event type.'],
  ['room.state.get', 'GET …/rooms/{roomId}/state[/{eventType}[/{stateKey}]] (read).'],
  ['room.send', 'PUT …/rooms/{roomId}/send/{eventType}/{txnId} or POST …/send/{eventType} (no txnId).'],
  ['room.send.redaction', 'room.send where the decoded event type is m.room.redaction: a redaction of content.redacts (room v11+).'],
  ['room.redact', 'POST …/rooms/{roomId}/redact/{eventId} or PUT …/redact/{eventId}/{txnId}.'],
  ['room.upgrade', 'POST …/rooms/{roomId}/upgrade: creates a replacement room with copied state.'],
  ['profile.displayname.set', 'PUT/DELETE …/profile/{userId}/{key} where the decoded key is displayname.'],
  ['profile.avatar_url.set', 'PUT/DELETE …/profile/{userId}/{key} where the decoded key is avatar_url.'],
  ['profile.field.set', 'PUT/DELETE …/profile/{userId}/{key} for every other key (MSC4133 extended profile).'],
  ['profile.get', 'GET …/profile/{userId}[/{key}] (read).'],
  ['account.password', 'POST …/account/password (with or without an access token).'],
  ['account.deactivate', 'POST …/account/deactivate.'],
  ['account.3pid.add', 'POST …/account/3pid/add, and the deprecated POST …/account/3pid.'],
  ['account.3pid.bind', 'POST …/account/3pid/bind.'],
  ['account.3pid.unbind', 'POST …/account/3pid/unbind.'],
  ['account.3pid.delete', 'POST …/account/3pid/delete.'],
  ['account.whoami', 'GET …/account/whoami (read).'],
  ['account_data.set', 'PUT …/user/{userId}/account_data/{type}, or DELETE (MSC3391, unstable/org.matrix.msc3391): a write of global account data.'],
  ['devices.delete', 'DELETE …/devices/{deviceId}.'],
  ['devices.delete_many', 'POST …/delete_devices.'],
  ['keys.device_signing.upload', 'POST …/keys/device_signing/upload: cross-signing key upload.'],
  ['sync', 'GET …/sync (long-poll, highest volume).'],
  ['sync.sliding', 'POST unstable/org.matrix.simplified_msc3575/sync (simplified sliding sync, MSC4186).'],
  ['events', 'GET …/events: the legacy event-stream long-poll.'],
  ['media.upload', 'POST media/{v}/upload, POST media/v1/create, PUT media/v3/upload/{serverName}/{mediaId}.'],
  ['media.download', 'GET media/{v}/download/{serverName}/{mediaId}[/{fileName}] and client v1/media/download/….'],
  ['media.thumbnail', 'GET media/{v}/thumbnail/{serverName}/{mediaId} and client v1/media/thumbnail/….'],
  ['media.other', 'Every other request under /_matrix/media/ or a client …/media/ path (config, preview_url, 404s).'],
  ['other', 'Everything else: proxied through the catch-all.'],
] as const;

/** One of the stable route ids listed in {@link ROUTE_ID_DOCS}. */
export type RouteId = (typeof ROUTE_ID_DOCS)[number][0];

/** Every route id, in the order of {@link ROUTE_ID_DOCS}. */
export const ROUTE_IDS: readonly RouteId[] = Object.freeze(ROUTE_ID_DOCS.map(([id]) => id));
