/**
 * Generated variants for every policed route id: every prefix (vendor ones included), percent-encoded
 * params (`%2F`, `%40`, `%3A`, unicode, invalid escapes), a trailing slash, lower-case methods, txn
 * forms; and the negative variants: extra segments, other methods, encoded literals, unknown API
 * versions, non-canonical spellings. Expectations come from the base description below, not from
 * the router. Every variant is also checked against the Synapse oracle.
 */
import t from 'tap';
import { routeRequest } from '../../../../src/gateway/router/route-request.js';
import type { RouteDecision } from '../../../../src/gateway/router/route-request.js';
import type { RouteId } from '../../../../src/gateway/router/route-ids.js';
import { ROUTE_IDS } from '../../../../src/gateway/router/route-ids.js';
import { disagreements, loadSynapseRouters } from '../../../fixtures/routes/synapse-oracle.js';

type RawAndDecoded = readonly [raw: string, decoded: string];

interface Base {
  id: RouteId;
  method: string;
  /** Segments after the prefix; `{name}` is a param. */
  template: string;
  /** Raw values per param (the first one is the default); others use {@link PARAM_VALUES}. */
  values?: Readonly<Record<string, readonly RawAndDecoded[]>>;
  /** Params always present (the empty state key). */
  fixed?: Readonly<Record<string, string>>;
  /** Synapse's `register_txn_path`: also `PUT <template>/{txnId}`. */
  txn?: boolean;
  media?: boolean;
  /** Params of `<path>/` when Synapse executes it with an extra empty param. */
  slash?: Readonly<Record<string, string>>;
  /** Id of `<path>/` when Synapse executes another route there (default: the base id). */
  slashId?: RouteId;
  /** What `<path>/extra` is (default: the catch-all), with the params it adds. */
  extra?: { id: RouteId; params: Readonly<Record<string, string>> };
  /** Ids of the other methods on the same path (default: the catch-all). */
  otherMethods?: Readonly<Record<string, RouteId>>;
  vendors?: readonly string[];
}

const PARAM_VALUES: readonly RawAndDecoded[] = [
  ['x1', 'x1'],
  ['%21r%3As', '!r:s'],
  ['!a%2Fb:s', '!a/b:s'],
  ['%40u%3As', '@u:s'],
  ['%23alias%3As', '#alias:s'],
  ['caf%C3%A9', 'café'],
  ['%F0%9F%98%80', '😀'],
  ['x%zz', 'x%zz'],
  ['%C3%28', '\ufffd('],
  ['%2e%2e%2e', '...'],
];
const TXN_VALUES: readonly RawAndDecoded[] = [['t1', 't1'], ['t%2F1', 't/1'], ['%E2%9C%93', '✓']];
const CLIENT_PREFIXES = ['api/v1', 'r0', 'v1', 'v3', 'unstable', 'unstable/com.example.vendor'];
const MEDIA_ROOTS: readonly (readonly [root: string, prefix: string])[] = [
  ['/_matrix/media/r0/', 'media/r0'],
  ['/_matrix/media/v3/', 'media/v3'],
  ['/_matrix/media/v1/', 'media/v1'],
  ['/_matrix/client/v1/media/', 'v1'],
  ['/_matrix/client/v3/media/', 'v3'],
];

const type = (eventType: string): Readonly<Record<string, readonly RawAndDecoded[]>> => ({
  eventType: [[eventType, eventType], [eventType.replace(/\./g, '%2E'), eventType], [`%${eventType.charCodeAt(0).toString(16)}${eventType.slice(1)}`, eventType]],
});
const key = (name: string): Readonly<Record<string, readonly RawAndDecoded[]>> => ({
  key: [[name, name], [`${name.slice(0, -1)}%${name.charCodeAt(name.length - 1).toString(16).toUpperCase()}`, name]],
});
const STATE_READ = { GET: 'room.state.get' } as const;

const BASES: readonly Base[] = [
  { id: 'login', method: 'POST', template: 'login' },
  { id: 'login.get_token', method: 'POST', template: 'login/get_token' },
  { id: 'login.get_token', method: 'POST', template: 'login/token', vendors: ['org.matrix.msc3882', 'orgXmatrixXmsc3882'] },
  { id: 'logout', method: 'POST', template: 'logout' },
  { id: 'logout.all', method: 'POST', template: 'logout/all' },
  { id: 'register', method: 'POST', template: 'register' },
  { id: 'room.create', method: 'POST', template: 'createRoom', txn: true },
  { id: 'room.join_by_alias', method: 'POST', template: 'join/{roomIdOrAlias}', txn: true },
  { id: 'room.knock', method: 'POST', template: 'knock/{roomIdOrAlias}', txn: true },
  ...(['join', 'invite', 'leave', 'kick', 'ban', 'unban', 'forget'] as const).map(
    (action): Base => ({ id: `room.${action}`, method: 'POST', template: `rooms/{roomId}/${action}`, txn: true }),
  ),
  {
    id: 'room.state.member',
    method: 'PUT',
    template: 'rooms/{roomId}/state/{eventType}/{stateKey}',
    values: { ...type('m.room.member'), stateKey: [['%40bob%3As', '@bob:s'], ['@bob:s', '@bob:s']] },
    otherMethods: STATE_READ,
  },
  ...(['m.room.member', 'm.room.encryption', 'm.room.power_levels', 'm.room.tombstone', 'm.room.redaction', 'm.room.name'] as const).flatMap((eventType): Base[] => {
    const id: RouteId =
      eventType === 'm.room.member'
        ? 'room.state.member'
        : eventType === 'm.room.encryption'
          ? 'room.state.encryption'
          : eventType === 'm.room.power_levels'
            ? 'room.state.power_levels'
            : eventType === 'm.room.tombstone'
              ? 'room.state.tombstone'
              : eventType === 'm.room.redaction'
                ? 'room.state.redaction'
                : 'room.state.other';
    return [
      {
        id,
        method: 'PUT',
        template: 'rooms/{roomId}/state/{eventType}',
        values: type(eventType),
        fixed: { stateKey: '' },
        extra: { id, params: { stateKey: 'extra' } },
        otherMethods: STATE_READ,
      },
      {
        id,
        method: 'PUT',
        template: 'rooms/{roomId}/state/{eventType}/{stateKey}',
        values: { ...type(eventType), stateKey: [['k', 'k'], ['%2F', '/'], ['%40u%3As', '@u:s']] },
        otherMethods: STATE_READ,
      },
    ];
  }),
  {
    id: 'room.send',
    method: 'POST',
    template: 'rooms/{roomId}/send/{eventType}',
    txn: true,
    values: { eventType: [['m.room.message', 'm.room.message'], ['m%2Eroom%2Emessage', 'm.room.message']] },
  },
  {
    id: 'room.send.redaction',
    method: 'POST',
    template: 'rooms/{roomId}/send/{eventType}',
    txn: true,
    values: { eventType: [['m.room.redaction', 'm.room.redaction'], ['m.room.red%61ction', 'm.room.redaction']] },
  },
  { id: 'room.redact', method: 'POST', template: 'rooms/{roomId}/redact/{eventId}', txn: true, values: { eventId: [['%24ev', '$ev'], ['$ev', '$ev']] } },
  { id: 'room.upgrade', method: 'POST', template: 'rooms/{roomId}/upgrade' },
  ...(
    [
      ['profile.displayname.set', 'displayname'],
      ['profile.avatar_url.set', 'avatar_url'],
      ['profile.field.set', 'm.tz'],
      ['profile.field.set', 'org.example.foo'],
    ] as const
  ).flatMap(([id, name]): Base[] =>
    ['PUT', 'DELETE'].map((method) => ({
      id,
      method,
      template: 'profile/{userId}/{key}',
      values: key(name),
      otherMethods: { GET: 'profile.get', [method === 'PUT' ? 'DELETE' : 'PUT']: id },
      vendors: ['uk.tcpip.msc4133'],
    })),
  ),
  { id: 'account.password', method: 'POST', template: 'account/password' },
  { id: 'account.deactivate', method: 'POST', template: 'account/deactivate' },
  { id: 'account.3pid.add', method: 'POST', template: 'account/3pid/add' },
  { id: 'account.3pid.add', method: 'POST', template: 'account/3pid' },
  { id: 'account.3pid.bind', method: 'POST', template: 'account/3pid/bind' },
  { id: 'account.3pid.unbind', method: 'POST', template: 'account/3pid/unbind' },
  { id: 'account.3pid.delete', method: 'POST', template: 'account/3pid/delete' },
  { id: 'account.whoami', method: 'GET', template: 'account/whoami' },
  ...['PUT', 'DELETE'].map((method): Base => ({
    id: 'account_data.set',
    method,
    template: 'user/{userId}/account_data/{type}',
    values: { type: [['io.corporal.password', 'io.corporal.password'], ['io%2Ecorporal.password', 'io.corporal.password'], ['m.direct', 'm.direct']] },
    otherMethods: { GET: 'other', [method === 'PUT' ? 'DELETE' : 'PUT']: 'account_data.set' },
    vendors: ['org.matrix.msc3391'],
  })),
  { id: 'devices.delete', method: 'DELETE', template: 'devices/{deviceId}' },
  { id: 'devices.delete_many', method: 'POST', template: 'delete_devices' },
  { id: 'keys.device_signing.upload', method: 'POST', template: 'keys/device_signing/upload' },
  { id: 'sync', method: 'GET', template: 'sync', otherMethods: { POST: 'sync.sliding' } },
  { id: 'sync.sliding', method: 'POST', template: 'sync', otherMethods: { GET: 'sync' }, vendors: ['org.matrix.simplified_msc3575'] },
  // `events/` and `events/extra` are EventRestServlet (GET events/{eventId}) at Synapse.
  { id: 'events', method: 'GET', template: 'events', slashId: 'other' },
  { id: 'media.upload', method: 'POST', template: 'upload', media: true },
  { id: 'media.upload', method: 'POST', template: 'create', media: true },
  { id: 'media.upload', method: 'PUT', template: 'upload/{serverName}/{mediaId}', media: true },
  {
    id: 'media.download',
    method: 'GET',
    template: 'download/{serverName}/{mediaId}',
    media: true,
    slash: { fileName: '' },
    extra: { id: 'media.download', params: { fileName: 'extra' } },
  },
  { id: 'media.download', method: 'GET', template: 'download/{serverName}/{mediaId}/{fileName}', media: true },
  { id: 'media.thumbnail', method: 'GET', template: 'thumbnail/{serverName}/{mediaId}', media: true },
];

interface Variant {
  what: string;
  method: string;
  path: string;
  expect: { kind: RouteDecision['kind']; id?: RouteId; params?: Record<string, string>; prefix?: string; location?: string };
}

/** The base's path and decoded params with the given raw values (default: each param's first value). */
function instantiate(base: Base, choose: (name: string, values: readonly RawAndDecoded[]) => RawAndDecoded): { path: string; params: Record<string, string> } {
  const params: Record<string, string> = { ...base.fixed };
  const path = base.template
    .split('/')
    .map((segment) => {
      const name = /^\{(\w+)\}$/.exec(segment)?.[1];
      if (name === undefined) return segment;
      const [raw, decoded] = choose(name, base.values?.[name] ?? PARAM_VALUES);
      params[name] = decoded;
      return raw;
    })
    .join('/');
  return { path, params };
}

function first(_name: string, values: readonly RawAndDecoded[]): RawAndDecoded {
  const value = values[0];
  if (value === undefined) throw new Error('no values');
  return value;
}

function roots(base: Base): (readonly [root: string, prefix: string])[] {
  if (base.media) return [...MEDIA_ROOTS];
  const prefixes = [...CLIENT_PREFIXES, ...(base.vendors ?? []).map((vendor) => `unstable/${vendor}`)];
  return prefixes.map((prefix) => [`/_matrix/client/${prefix}/`, prefix] as const);
}

function variantsOf(base: Base): Variant[] {
  const out: Variant[] = [];
  const other: RouteId = base.media ? 'media.other' : 'other';
  const label = `${base.id} ${base.method} ${base.template}`;
  const route = (id: RouteId, params?: Record<string, string>, prefix?: string): Variant['expect'] => ({ kind: 'route', id, params, prefix });
  const [mainRoot, mainPrefix] = roots(base).find(([, prefix]) => prefix === 'v3' || prefix === 'media/v3') ?? ['', ''];
  const main = instantiate(base, first);
  const withTxn = (params: Record<string, string>, txnId: string) => ({ ...params, txnId });

  for (const [root, prefix] of roots(base)) {
    out.push({ what: `${label} under ${prefix}`, method: base.method, path: root + main.path, expect: route(base.id, main.params, prefix) });
    out.push({
      what: `${label} under ${prefix} with a trailing slash`,
      method: base.method,
      path: `${root}${main.path}/`,
      expect: base.slashId ? route(base.slashId) : route(base.id, { ...main.params, ...base.slash }, prefix),
    });
    if (base.txn) {
      for (const [raw, decoded] of TXN_VALUES) {
        const path = `${root}${main.path}/${raw}`;
        out.push({ what: `${label} PUT txn under ${prefix}`, method: 'PUT', path, expect: route(base.id, withTxn(main.params, decoded), prefix) });
        out.push({ what: `${label} PUT txn + slash under ${prefix}`, method: 'PUT', path: `${path}/`, expect: route(base.id, withTxn(main.params, decoded), prefix) });
        out.push({ what: `${label} POST on the txn path`, method: 'POST', path, expect: route(other) });
        out.push({ what: `${label} PUT txn + extra segment`, method: 'PUT', path: `${path}/extra`, expect: route(other) });
      }
      out.push({ what: `${label} PUT with an empty txnId (Synapse runs it)`, method: 'PUT', path: `${root}${main.path}/`, expect: route(base.id, withTxn(main.params, ''), prefix) });
    }
  }

  for (const name of Object.keys(main.params).filter((n) => !(n in (base.fixed ?? {})))) {
    for (const value of base.values?.[name] ?? PARAM_VALUES) {
      const { path, params } = instantiate(base, (n, values) => (n === name ? value : first(n, values)));
      out.push({ what: `${label} with ${name}=${value[0]}`, method: base.method, path: mainRoot + path, expect: route(base.id, params, mainPrefix) });
    }
  }

  out.push({ what: `${label} lower-case method`, method: base.method.toLowerCase(), path: mainRoot + main.path, expect: route(base.id, main.params) });
  const extra = base.extra ?? { id: other, params: {} };
  out.push({
    what: `${label} with an extra segment`,
    method: base.method,
    path: `${mainRoot}${main.path}/extra`,
    expect: extra.id === other ? route(other) : route(extra.id, { ...main.params, ...extra.params }),
  });
  out.push({ what: `${label} with two trailing slashes`, method: base.method, path: `${mainRoot}${main.path}//`, expect: { kind: 'redirect', location: `${mainRoot}${main.path}/` } });
  out.push({
    what: `${label} with a dot segment`,
    method: base.method,
    path: `${mainRoot}./${main.path}`,
    expect: { kind: 'redirect', location: mainRoot + main.path },
  });
  for (const method of ['GET', 'PUT', 'POST', 'DELETE', 'PATCH']) {
    if (method === base.method || (base.txn && method === 'PUT')) continue;
    const id = base.otherMethods?.[method] ?? other;
    out.push({ what: `${label} with ${method}`, method, path: mainRoot + main.path, expect: route(id) });
  }
  base.template.split('/').forEach((segment, index, segments) => {
    if (segment.startsWith('{')) return;
    const encoded = `%${segment.charCodeAt(0).toString(16).toUpperCase()}${segment.slice(1)}`;
    const instance = instantiate({ ...base, template: segments.map((s, i) => (i === index ? encoded : s)).join('/') }, first);
    out.push({ what: `${label} with the literal ${segment} encoded`, method: base.method, path: mainRoot + instance.path, expect: route(other) });
  });
  if (!base.media) {
    for (const version of ['v4', 'r1', 'v2', 'r01']) {
      out.push({ what: `${label} under ${version}`, method: base.method, path: `/_matrix/client/${version}/${main.path}`, expect: { kind: 'unsupported-version' } });
    }
  }
  return out;
}

const variants = BASES.flatMap(variantsOf);

function comparable(decision: RouteDecision, expect: Variant['expect']): Variant['expect'] {
  const out: Variant['expect'] = { kind: decision.kind };
  if (decision.kind === 'redirect') out.location = decision.location;
  if (decision.kind === 'route') {
    out.id = decision.match.id;
    if (expect.params !== undefined) out.params = { ...decision.match.params };
    if (expect.prefix !== undefined) out.prefix = decision.match.prefix;
  }
  return out;
}

t.test('generated variants', (t) => {
  t.ok(variants.length > 1500, `${variants.length} variants`);
  for (const variant of variants) {
    const expect = JSON.parse(JSON.stringify(variant.expect)) as Variant['expect'];
    t.same(comparable(routeRequest(variant.method, variant.path, ''), expect), expect, `${variant.what}: ${variant.method} ${variant.path}`);
  }
  t.end();
});

t.test('every policed id has variants', (t) => {
  const covered = new Set(BASES.map((base) => base.id));
  const uncovered = ROUTE_IDS.filter((id) => !covered.has(id) && !['other', 'media.other', 'room.state.get', 'profile.get'].includes(id));
  t.same(uncovered, []);
  t.end();
});

t.test('no variant disagrees with Synapse 1.163.2', (t) => {
  const routers = loadSynapseRouters();
  const found = variants.flatMap((v) => disagreements(routers, v.method, v.path, routeRequest(v.method, v.path, '')));
  t.same(found.slice(0, 20), []);
  t.end();
});
