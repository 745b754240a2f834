import t from 'tap';
import { waitFor } from '../../support/control-plane.js';
import { matrixCall } from '../../support/matrix-client.js';
import { startSynapse } from '../../support/start-synapse.js';
import { startGateway } from './fixtures/gateway-harness.js';

/**
 * The client address Synapse records (`x_forwarded: true` takes the first `X-Forwarded-For`
 * entry) is the one trusted proxies vouch for, never what a client wrote itself
 * (`HttpGateway.TrustedProxies`). Read back from Synapse's admin whois, per device.
 */
const hs = await startSynapse({ enableRegistration: true, xForwarded: true });
t.teardown(() => hs.stop());
// The test's own connections come from 127.0.0.1: a trusted proxy by default, no one's with [].
const behindProxy = await startGateway({ upstream: hs.baseUrl, threads: 1 });
t.teardown(() => behindProxy.stop());
const exposed = await startGateway({ upstream: hs.baseUrl, threads: 1, gateway: { TrustedProxies: [] } });
t.teardown(() => exposed.stop());

const admin = hs.admin.accessToken;
const userId = `@carol:${hs.serverName}`;
await matrixCall(hs.baseUrl, 'POST', '/_matrix/client/v3/register', {
  body: { username: 'carol', password: 'carol-password', auth: { type: 'm.login.dummy' } },
});

/**
 * Logs in and makes one authenticated request through `baseUrl`, both with `forwardedFor` and the
 * User-Agent `agent` (whois lists connections by address and agent, not by device).
 */
async function connectAs(agent: string, baseUrl: string, forwardedFor: string): Promise<void> {
  const headers = { 'x-forwarded-for': forwardedFor, 'user-agent': agent };
  const session = await matrixCall<{ access_token: string }>(baseUrl, 'POST', '/_matrix/client/v3/login', {
    headers,
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'carol' }, password: 'carol-password' },
  });
  await matrixCall(baseUrl, 'GET', '/_matrix/client/v3/account/whoami', { token: session.access_token, headers });
}

/** Every connection Synapse has recorded for the user: `[address, User-Agent]`. */
async function connections(): Promise<Array<[ip: string, agent: string]>> {
  const whois = await matrixCall<{ devices: Record<string, { sessions: { connections: { ip: string; user_agent: string }[] }[] }> }>(
    hs.baseUrl, 'GET', `/_synapse/admin/v1/whois/${encodeURIComponent(userId)}`, { token: admin },
  );
  return Object.values(whois.devices).flatMap((device) => device.sessions)
    .flatMap((session) => session.connections.map((c): [string, string] => [c.ip, c.user_agent]));
}

/** The addresses recorded for User-Agent `agent`, once there are any. */
async function recordedAddresses(agent: string): Promise<string[]> {
  let ips: string[] = [];
  await waitFor(`Synapse records an address for ${agent}`, async () => {
    ips = (await connections()).filter(([, ua]) => ua === agent).map(([ip]) => ip);
    return ips.length > 0;
  }, 20_000, 250);
  return [...new Set(ips)];
}

t.test('through a trusted proxy: the address it saw, not the one the client wrote before it', async (t) => {
  // As nginx with $proxy_add_x_forwarded_for sends it: the client's claim, then the client's address.
  await connectAs('behind-proxy', behindProxy.baseUrl, '198.51.100.66, 203.0.113.7');
  t.same(await recordedAddresses('behind-proxy'), ['203.0.113.7']);
  t.notOk((await connections()).some(([ip]) => ip === '198.51.100.66'), 'the claimed address is recorded nowhere');
});

t.test('from a peer that is no trusted proxy: its own address, whatever it claims', async (t) => {
  await connectAs('exposed', exposed.baseUrl, '198.51.100.77');
  // Synapse records one (token, address) pair once: the gateway's own token look-up from
  // 127.0.0.1 comes first, so the client's request at that address adds no row. A later request
  // through the other gateway marks the point by which the client's would show, had it a new address.
  await connectAs('sentinel', behindProxy.baseUrl, '203.0.113.8');
  t.same(await recordedAddresses('sentinel'), ['203.0.113.8']);
  const recorded = await connections();
  t.notOk(recorded.some(([ip]) => ip === '198.51.100.77'), 'the claimed address is recorded nowhere');
  t.notOk(recorded.some(([ip]) => ip !== '127.0.0.1' && ip !== '203.0.113.7' && ip !== '203.0.113.8'), 'no address but the known ones');
});

t.test('a loopback claim is never believed: Synapse records the trusted hop that passed it on', async (t) => {
  // 10.9.8.7 is a private address (trusted by default) that claims to have seen 127.0.0.1, the
  // address Synapse rate-limits Corporal's own logins by.
  await connectAs('claims-loopback', behindProxy.baseUrl, '127.0.0.1, 10.9.8.7');
  t.same(await recordedAddresses('claims-loopback'), ['10.9.8.7']);
});

t.test('two proxies on one host: the loopback hop between them is walked over', async (t) => {
  // As a local nginx appending behind a local cloudflared or HAProxy sends it.
  await connectAs('two-local-proxies', behindProxy.baseUrl, '203.0.113.77, 127.0.0.1');
  t.same(await recordedAddresses('two-local-proxies'), ['203.0.113.77']);
});
