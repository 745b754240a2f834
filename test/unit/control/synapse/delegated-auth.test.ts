import t from 'tap';
import { createSilentLogger } from '../../../../src/common/logger.js';
import { authIsDelegated, delegatedAuthMessage } from '../../../../src/control/synapse/delegated-auth.js';
import { SynapseErrorCode } from '../../../../src/control/synapse/synapse-errors.js';
import { SynapseHttp } from '../../../../src/control/synapse/synapse-http.js';
import { hang, json, startScriptedServer, type Script } from '../fixtures/scripted-server.js';

const server = await startScriptedServer();
t.teardown(() => server.close());

const UNRECOGNIZED = json(404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
const LOGIN_FLOWS = json(200, { flows: [{ type: 'm.login.password' }] });

/** Runs the probe against the scripted answers; returns its result and the paths it asked. */
async function probeWith(answers: Script[], timeoutMs = 5_000): Promise<{ result: Awaited<ReturnType<typeof authIsDelegated>>; paths: string[] }> {
  server.requests.length = 0;
  server.queue.splice(0, server.queue.length, ...answers);
  const http = new SynapseHttp({ baseUrl: server.url, timeoutMs, connections: 2, logger: createSilentLogger() });
  try {
    const result = await authIsDelegated(http);
    return { result, paths: server.requests.map((r) => `${r.method} ${r.url} ${r.authorization ?? 'no token'}`) };
  } finally {
    await http.close();
  }
}

t.test('stock Synapse: /login served, auth_metadata unrecognized', async (t) => {
  const { result, paths } = await probeWith([LOGIN_FLOWS, UNRECOGNIZED]);
  t.equal(result, null);
  t.same(paths, ['GET /_matrix/client/v3/login no token', 'GET /_matrix/client/v1/auth_metadata no token'], 'both asked, without a token');
});

t.test('MAS behind Synapse: /login is not served, and nothing else is asked', async (t) => {
  const { result, paths } = await probeWith([UNRECOGNIZED]);
  t.equal(result, 'login-not-served');
  t.equal(paths.length, 1);
});

t.test('a proxy hands /login to MAS: the OAuth metadata gives it away', async (t) => {
  const { result } = await probeWith([LOGIN_FLOWS, json(200, { issuer: 'https://mas.example/' })]);
  t.equal(result, 'oauth-metadata-served');
});

t.test('answers that prove nothing', async (t) => {
  const html: Script = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end('<html>app</html>');
  };
  const cases: Array<[string, Script[]]> = [
    ['/login 404 without a Matrix errcode (a proxy)', [json(404, { message: 'not found' })]],
    ['/login 405 M_UNRECOGNIZED (not a 404)', [json(405, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' })]],
    ['/login 500', [json(500, { errcode: 'M_UNKNOWN', error: 'Internal server error' })]],
    ['/login answered with an HTML page', [html, UNRECOGNIZED]],
    ['auth_metadata 500 (MAS down)', [LOGIN_FLOWS, json(500, { errcode: 'M_UNKNOWN', error: 'Internal server error' })]],
    ['auth_metadata answered with an HTML page', [LOGIN_FLOWS, html]],
  ];
  for (const [name, answers] of cases) t.equal((await probeWith(answers)).result, null, name);
});

t.test('no answer at all is thrown, after one probe only', async (t) => {
  await t.rejects(probeWith([hang], 200), { code: SynapseErrorCode.Timeout });
  t.equal(server.requests.length, 1, 'the second probe is not asked');
});

t.test('the message names the evidence and where to read more', async (t) => {
  t.match(delegatedAuthMessage('login-not-served'), /GET \/_matrix\/client\/v3\/login \(404 M_UNRECOGNIZED\).*Matrix Authentication Service.*docs\/deployment\.md/);
  t.match(delegatedAuthMessage('oauth-metadata-served'), /auth_metadata.*Matrix Authentication Service/);
});
