import type { RouteId } from './route-ids.js';
import type { RouteIdResolver, RouteSpec } from './route-spec.js';
import { compileRouteFamilies } from './route-spec.js';

/**
 * The client-server routes the gateway recognises, as segment templates over the path after the
 * client prefix (`/_matrix/client/<prefix>/`). They are recognised under every client prefix
 * (`api/v1`, `r0`, `v1`, `v3`, `unstable`, `unstable/<vendor>`), even where Synapse 1.163.2 serves a
 * family under fewer: a path Synapse answers with 404 may be policed, a path Synapse executes may
 * never slip through. docs/routing.md maps every entry to the Synapse regex it mirrors.
 */

/** Membership actions of `rooms/{roomId}/<action>` (Synapse: `join|invite|leave|ban|unban|kick`, then `forget`). */
const MEMBERSHIP_ACTIONS: readonly (readonly [action: string, id: RouteId, mirrors: string])[] = [
  ['join', 'room.join', 'RoomMembershipRestServlet (room.py)'],
  ['invite', 'room.invite', 'RoomMembershipRestServlet (room.py)'],
  ['leave', 'room.leave', 'RoomMembershipRestServlet (room.py)'],
  ['ban', 'room.ban', 'RoomMembershipRestServlet (room.py)'],
  ['unban', 'room.unban', 'RoomMembershipRestServlet (room.py)'],
  ['kick', 'room.kick', 'RoomMembershipRestServlet (room.py)'],
  ['forget', 'room.forget', 'RoomForgetRestServlet (room.py)'],
];

/**
 * The write id of a state PUT, from the *decoded* event type: `m%2Eroom%2Eencryption` is
 * `m.room.encryption` to Synapse. Any state key counts (an empty one included).
 */
function stateWriteId(params: Readonly<Record<string, string>>): RouteId {
  switch (params['eventType']) {
    case 'm.room.member':
      return 'room.state.member';
    case 'm.room.encryption':
      return 'room.state.encryption';
    case 'm.room.power_levels':
      return 'room.state.power_levels';
    case 'm.room.tombstone':
      return 'room.state.tombstone';
    case 'm.room.redaction':
      return 'room.state.redaction';
    default:
      return 'room.state.other';
  }
}

/**
 * The id of an event send, from the *decoded* event type: Synapse treats an `m.room.redaction`
 * sent through `send` (and through `state`) as a redaction of its `content.redacts` (room v11+),
 * so it must meet the same rule as the `redact` endpoint (verification round 12, F1).
 */
function sendId(params: Readonly<Record<string, string>>): RouteId {
  return params['eventType'] === 'm.room.redaction' ? 'room.send.redaction' : 'room.send';
}

/**
 * The write id of a profile PUT/DELETE, from the *decoded* key: Synapse's v3 extended-profile
 * route (`profile/{userId}/{field_name}`) unquotes the key, so `display%6Eame` sets the display
 * name even though the literal `displayname` route does not match it.
 */
function profileWriteId(params: Readonly<Record<string, string>>): RouteId {
  switch (params['key']) {
    case 'displayname':
      return 'profile.displayname.set';
    case 'avatar_url':
      return 'profile.avatar_url.set';
    default:
      return 'profile.field.set';
  }
}

/** Synapse's `register_txn_path`: `POST <path>` and `PUT <path>/{txnId}`. */
function txnRoutes(template: string, id: RouteId | RouteIdResolver, mirrors: string): RouteSpec[] {
  return [
    { template, methods: { POST: id }, mirrors },
    { template: `${template}/{txnId}`, methods: { PUT: id }, mirrors },
  ];
}

/** The client route specs, in Synapse's registration order within each family. */
export const CLIENT_ROUTE_SPECS: readonly RouteSpec[] = [
  // room.py RoomStateEventRestServlet: with and without a state key; GET and PUT on both.
  {
    template: 'rooms/{roomId}/state/{eventType}/{stateKey}',
    methods: { GET: 'room.state.get', PUT: stateWriteId },
    mirrors: 'RoomStateEventRestServlet (room.py)',
  },
  {
    template: 'rooms/{roomId}/state/{eventType}',
    methods: { GET: 'room.state.get', PUT: stateWriteId },
    fixedParams: { stateKey: '' },
    mirrors: 'RoomStateEventRestServlet (room.py)',
  },
  { template: 'rooms/{roomId}/state', methods: { GET: 'room.state.get' }, mirrors: 'RoomStateRestServlet (room.py)' },
  ...txnRoutes('join/{roomIdOrAlias}', 'room.join_by_alias', 'JoinRoomAliasServlet (room.py)'),
  ...MEMBERSHIP_ACTIONS.flatMap(([action, id, mirrors]) => txnRoutes(`rooms/{roomId}/${action}`, id, mirrors)),
  ...txnRoutes('rooms/{roomId}/send/{eventType}', sendId, 'RoomSendEventRestServlet (room.py)'),
  ...txnRoutes('rooms/{roomId}/redact/{eventId}', 'room.redact', 'RoomRedactEventRestServlet (room.py)'),
  ...txnRoutes('createRoom', 'room.create', 'RoomCreateRestServlet (room.py)'),
  { template: 'rooms/{roomId}/upgrade', methods: { POST: 'room.upgrade' }, mirrors: 'RoomUpgradeRestServlet (room_upgrade_rest_servlet.py)' },
  // knock.py has no txn form; PUT knock/{id}/{txnId} is an over-match in case a later Synapse adds one.
  ...txnRoutes('knock/{roomIdOrAlias}', 'room.knock', 'KnockRoomAliasServlet (knock.py)'),

  { template: 'events', methods: { GET: 'events' }, mirrors: 'EventStreamRestServlet (events.py)' },
  // Not policed, but Synapse executes `GET events/` as this route (empty event id): without it the
  // trailing-slash tolerance would report `events/` as the event stream.
  { template: 'events/{eventId}', methods: { GET: 'other' }, mirrors: 'EventRestServlet (events.py)' },
  { template: 'login', methods: { POST: 'login' }, mirrors: 'LoginRestServlet (login.py)' },
  { template: 'login/get_token', methods: { POST: 'login.get_token' }, mirrors: 'LoginTokenRequestServlet (login_token_request.py)' },
  // The MSC3882 form lives under unstable/org.matrix.msc3882/; vendor prefixes are generic (see route-request.ts).
  { template: 'login/token', methods: { POST: 'login.get_token' }, mirrors: 'LoginTokenRequestServlet (login_token_request.py)' },

  // profile.py ProfileFieldRestServlet: the literal displayname/avatar_url routes (all prefixes) and the
  // v3 (and MSC4133 unstable) `{field_name}` route collapse into one template with a decoded key.
  {
    template: 'profile/{userId}/{key}',
    methods: { GET: 'profile.get', PUT: profileWriteId, DELETE: profileWriteId },
    mirrors: 'ProfileFieldRestServlet (profile.py)',
  },
  { template: 'profile/{userId}', methods: { GET: 'profile.get' }, mirrors: 'ProfileRestServlet (profile.py)' },

  { template: 'logout', methods: { POST: 'logout' }, mirrors: 'LogoutRestServlet (logout.py)' },
  { template: 'logout/all', methods: { POST: 'logout.all' }, mirrors: 'LogoutAllRestServlet (logout.py)' },
  // sync.py: GET sync everywhere; POST sync is the simplified sliding sync (served under
  // unstable/org.matrix.simplified_msc3575/ only; over-matched under every prefix).
  { template: 'sync', methods: { GET: 'sync', POST: 'sync.sliding' }, mirrors: 'SyncRestServlet, SlidingSyncRestServlet (sync.py)' },

  // account.py
  { template: 'account/3pid', methods: { POST: 'account.3pid.add' }, mirrors: 'ThreepidRestServlet (account.py), deprecated POST' },
  { template: 'account/whoami', methods: { GET: 'account.whoami' }, mirrors: 'WhoamiRestServlet (account.py)' },
  { template: 'account/deactivate', methods: { POST: 'account.deactivate' }, mirrors: 'DeactivateAccountRestServlet (account.py)' },
  { template: 'account/3pid/bind', methods: { POST: 'account.3pid.bind' }, mirrors: 'ThreepidBindRestServlet (account.py)' },
  { template: 'account/3pid/unbind', methods: { POST: 'account.3pid.unbind' }, mirrors: 'ThreepidUnbindRestServlet (account.py)' },
  { template: 'account/password', methods: { POST: 'account.password' }, mirrors: 'PasswordRestServlet (account.py)' },
  { template: 'account/3pid/add', methods: { POST: 'account.3pid.add' }, mirrors: 'ThreepidAddRestServlet (account.py)' },
  { template: 'account/3pid/delete', methods: { POST: 'account.3pid.delete' }, mirrors: 'ThreepidDeleteRestServlet (account.py)' },

  // account_data.py: PUT everywhere; DELETE is MSC3391's, served under unstable/org.matrix.msc3391/
  // only (over-matched under every prefix). GET is a read and stays `other`.
  {
    template: 'user/{userId}/account_data/{type}',
    methods: { PUT: 'account_data.set', DELETE: 'account_data.set' },
    mirrors: 'AccountDataServlet, UnstableAccountDataServlet (account_data.py)',
  },

  { template: 'register', methods: { POST: 'register' }, mirrors: 'RegisterRestServlet / RegisterAppServiceOnlyRestServlet (register.py)' },
  {
    template: 'keys/device_signing/upload',
    methods: { POST: 'keys.device_signing.upload' },
    mirrors: 'SigningKeyUploadServlet (keys.py)',
  },
  { template: 'delete_devices', methods: { POST: 'devices.delete_many' }, mirrors: 'DeleteDevicesRestServlet (devices.py)' },
  { template: 'devices/{deviceId}', methods: { DELETE: 'devices.delete' }, mirrors: 'DeviceRestServlet (devices.py)' },
];

/** {@link CLIENT_ROUTE_SPECS} compiled once at module load. */
export const CLIENT_ROUTES = compileRouteFamilies(CLIENT_ROUTE_SPECS);
