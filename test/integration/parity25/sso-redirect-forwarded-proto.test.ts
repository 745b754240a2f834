import t from 'tap';
import { request } from 'undici';
import { startSynapse } from '../../support/start-synapse.js';
import { startGateway } from '../gateway/fixtures/gateway-harness.js';

/**
 * Parity review 25, finding 1: the gateway must not tell Synapse the client used plain HTTP when
 * the reverse proxy in front did not say which scheme it used.
 *
 * Behind a reverse proxy Synapse's client listener has `x_forwarded: true`. matrix-corporal passed
 * `X-Forwarded-Proto` on only when the proxy sent one; without it, Synapse (`XForwardedForRequest`)
 * assumes https ("done largely for backwards-compatibility so that people that haven't set an
 * x-forwarded-proto header don't get a redirect loop"). The SSO redirect endpoint compares the
 * requested URI (scheme from `isSecure()`, the `Host` header) with `public_baseurl` and redirects
 * to `public_baseurl` when they differ: told `http`, Synapse redirects `https://…/sso/redirect`
 * to itself, for ever, and SSO logins stop working after the switch to Corporal.
 */
const PUBLIC_HOST = 'matrix.example.test';
const CAS_SERVER = 'https://cas.example.test';

const hs = await startSynapse({
  xForwarded: true,
  extraConfig: {
    public_baseurl: `https://${PUBLIC_HOST}/`,
    cas_config: { enabled: true, server_url: CAS_SERVER },
  },
});
t.teardown(() => hs.stop());
const gw = await startGateway({ upstream: hs.baseUrl, threads: 1, serverName: hs.serverName });
t.teardown(() => gw.stop());

const SSO_REDIRECT = `/_matrix/client/v3/login/sso/redirect?redirectUrl=${encodeURIComponent('https://app.example.test/')}`;

/** GETs the SSO redirect endpoint as a reverse proxy forwards it; resolves with the status and `Location`. */
async function ssoRedirect(baseUrl: string, headers: Record<string, string>): Promise<{ status: number; location: string }> {
  const response = await request(`${baseUrl}${SSO_REDIRECT}`, { method: 'GET', headers: { host: PUBLIC_HOST, ...headers } });
  await response.body.dump();
  const location = response.headers['location'];
  return { status: response.statusCode, location: typeof location === 'string' ? location : '' };
}

t.test('control: Synapse itself sends a proxied request without X-Forwarded-Proto on to the SSO server', async (t) => {
  const answer = await ssoRedirect(hs.baseUrl, { 'x-forwarded-for': '203.0.113.5' });
  t.equal(answer.status, 302);
  t.ok(answer.location.startsWith(`${CAS_SERVER}/login?`), `redirected to the CAS server (${answer.location})`);
});

t.test('through the gateway, a proxy that names no scheme: the SSO server, not a redirect loop', async (t) => {
  // As nginx forwards it with only Host and X-Forwarded-For set.
  const answer = await ssoRedirect(gw.baseUrl, { 'x-forwarded-for': '203.0.113.5' });
  t.equal(answer.status, 302);
  t.notOk(answer.location.startsWith(`https://${PUBLIC_HOST}/`), `not redirected back to the same endpoint (${answer.location})`);
  t.ok(answer.location.startsWith(`${CAS_SERVER}/login?`), `redirected to the CAS server (${answer.location})`);
});

t.test("through the gateway, a proxy's X-Forwarded-Proto is still what Synapse sees", async (t) => {
  const https = await ssoRedirect(gw.baseUrl, { 'x-forwarded-for': '203.0.113.5', 'x-forwarded-proto': 'https' });
  t.ok(https.location.startsWith(`${CAS_SERVER}/login?`), `https: the CAS server (${https.location})`);
  // A proxy that says http gets Synapse's own answer to that: the redirect to public_baseurl.
  const http = await ssoRedirect(gw.baseUrl, { 'x-forwarded-for': '203.0.113.5', 'x-forwarded-proto': 'http' });
  t.ok(http.location.startsWith(`https://${PUBLIC_HOST}/_matrix/client/v3/login/sso/redirect`), `http: Synapse's redirect to public_baseurl (${http.location})`);
});
