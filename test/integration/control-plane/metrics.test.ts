import t from 'tap';
import { API_TOKEN, pushAndSettle } from '../../support/control-plane-api.js';
import { matrixRequest } from '../../support/matrix-client.js';
import { serveAgainst, synapseWithCorporalAdmin } from '../../support/serve-against.js';
import { startHookRestService } from '../../support/hook-rest-service.js';

/**
 * `GET /_matrix/corporal/metrics` of a real `corporal serve` in front of a real Synapse: the
 * gateway's counters see what its threads served (Synapse's answers and the gateway's own
 * refusals apart), the reconciler's what it did, the policy's what is in force.
 */

/** The value of one series (`name{labels}` exactly as written), or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

t.test('the metrics count the gateway\'s requests, the reconciler\'s runs and the policy in force', async (t) => {
  const hs = await synapseWithCorporalAdmin(t);
  const { api, gatewayUrl } = await serveAgainst(t, { homeserverUrl: hs.baseUrl, registrationSharedSecret: hs.registrationSharedSecret });
  await api.statusWhenUp(30_000);
  const service = await startHookRestService();
  t.teardown(() => service.close());
  const alice = { id: '@alice:localhost', active: true, authType: 'plain', authCredential: 'alice-password', joinedRooms: [] };
  // One consultation that gets a hook (whoami), one whose service answers garbage (/versions), and
  // an after-hook that puts the gateway's answer in place of Synapse's (a profile read).
  const hooks = [
    { id: 'replace', eventType: 'afterAnyRequest', routeMatchesRegex: '/profile/', action: 'reject', responseStatusCode: 451, rejectionErrorCode: 'M_HOOKED', rejectionErrorMessage: 'Replaced by a hook' },
    { id: 'ask', eventType: 'beforeAuthenticatedRequest', routeMatchesRegex: '/account/whoami$', action: 'consult.RESTServiceURL', RESTServiceURL: `${service.origin}/pass` },
    { id: 'broken', eventType: 'beforeAnyRequest', routeMatchesRegex: '/versions$', action: 'consult.RESTServiceURL', RESTServiceURL: `${service.origin}/garbled` },
  ];
  await pushAndSettle(api, { schemaVersion: 2, flags: { forbidRoomCreation: true }, managedRoomIds: [], hooks, users: [alice] });

  const login = await matrixRequest(gatewayUrl, 'POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'alice-password' },
  });
  t.equal(login.status, 200, 'alice logs in through the gateway');
  const token = (login.json as { access_token: string }).access_token;
  for (let i = 0; i < 3; i++) t.equal((await matrixRequest(gatewayUrl, 'GET', '/_matrix/client/v3/account/whoami', { token })).status, 200);
  t.equal((await matrixRequest(gatewayUrl, 'GET', '/_matrix/client/versions')).status, 503, 'a failed consultation fails the request closed');
  t.equal((await matrixRequest(gatewayUrl, 'GET', '/_matrix/client/v3/profile/%40alice%3Alocalhost', { token })).status, 451, 'the after-hook replaced Synapse\'s answer');
  const create = await matrixRequest(gatewayUrl, 'POST', '/_matrix/client/v3/createRoom', { token, body: {} });
  t.equal(create.status, 403, 'room creation is refused by the policy');
  const rooms = await matrixRequest(hs.baseUrl, 'GET', '/_synapse/admin/v1/users/%40alice%3Alocalhost/joined_rooms', { token: hs.admin.accessToken });
  t.same(rooms.json, { joined_rooms: [], total: 0 }, 'Synapse: alice is in no room');

  const unauthenticated = await api.metrics(null);
  t.equal(unauthenticated.status, 401, 'the metrics need the API token');
  // A thread counts a request once its exchange has settled, just after the client has the answer.
  let scrape = await api.metrics();
  for (let tries = 0; sample(scrape.text, 'corporal_gateway_requests_total{route="room.create",source="corporal",code="4xx"}') === undefined && tries < 50; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    scrape = await api.metrics();
  }
  t.equal(scrape.status, 200);
  t.equal(scrape.type, 'text/plain; version=0.0.4; charset=utf-8');
  const { text } = scrape;
  t.equal(sample(text, 'corporal_gateway_requests_total{route="account.whoami",source="homeserver",code="2xx"}'), 3, 'Synapse answered the three whoami');
  t.equal(sample(text, 'corporal_gateway_requests_total{route="room.create",source="corporal",code="4xx"}'), 1, 'the gateway refused the room creation');
  t.notOk(sample(text, 'corporal_gateway_requests_total{route="room.create",source="homeserver",code="2xx"}'), 'and Synapse never saw it');
  t.equal(sample(text, 'corporal_gateway_requests_total{route="profile.get",source="corporal",code="4xx"}'), 1, 'the after-hook\'s reply is the gateway\'s answer');
  t.notOk(text.includes('route="profile.get",source="homeserver"'), 'though Synapse had answered');
  t.equal(sample(text, 'corporal_gateway_request_duration_seconds_bucket{route="account.whoami",kind="request",le="+Inf"}'), 3, 'the durations of the three whoami, by route');
  t.equal(sample(text, 'corporal_gateway_request_duration_seconds_count{route="account.whoami",kind="request"}'), 3);
  t.ok((sample(text, 'corporal_gateway_request_duration_seconds_sum{route="account.whoami",kind="request"}') ?? 0) > 0);
  t.equal(sample(text, 'corporal_gateway_request_duration_seconds_count{route="room.create",kind="request"}'), 1, 'the refused room creation\'s too');
  t.notOk(text.includes('corporal_gateway_request_duration_seconds_count{route="sync"'), 'no histogram for a route that served nothing');
  t.ok((sample(text, 'corporal_gateway_token_resolutions_total{result="cached"}') ?? 0) >= 4, 'alice\'s token, known from her login, is a cache hit');
  t.equal(sample(text, 'corporal_gateway_hook_consultations_total{result="ok"}'), 3, 'the three whoami consulted the service');
  t.equal(sample(text, 'corporal_gateway_hook_consultations_total{result="failed"}'), 1, 'the garbled answer');
  t.equal(sample(text, 'corporal_gateway_hook_executions_total{position="before",action="consult.RESTServiceURL"}'), 4, 'four consult hooks executed');
  t.equal(sample(text, 'corporal_gateway_hook_executions_total{position="before",action="pass.unmodified"}'), 3, 'the hooks the service yielded for the whoami');
  t.equal(sample(text, 'corporal_gateway_hook_executions_total{position="after",action="reject"}'), 1, 'the profile read\'s after-hook');
  t.equal(sample(text, 'corporal_gateway_hook_failures_total{position="before",cause="other"}'), 1, '/versions failed closed: the service\'s doing');
  t.equal(sample(text, 'corporal_gateway_hook_failures_total{position="before",cause="client"}'), 0);
  t.equal(sample(text, 'corporal_gateway_threads{state="alive"}'), 1);
  t.equal(sample(text, 'corporal_gateway_status_available'), 1);
  const status = await api.status();
  t.equal(sample(text, 'corporal_policy_generation'), status.policy?.generation, 'the generation in force');
  t.equal(sample(text, 'corporal_gateway_policy_generation'), status.policy?.generation, 'enforced by the thread');
  t.equal(sample(text, 'corporal_policy_users{state="active"}'), 1);
  t.equal(sample(text, 'corporal_reconciler_state{state="ready"}'), 1);
  t.ok((sample(text, 'corporal_reconciler_runs_total{kind="full",outcome="completed"}') ?? 0) >= 1, 'the first pass');
  t.ok((sample(text, 'corporal_reconciler_actions_total{result="done"}') ?? 0) >= 1, 'alice\'s account was created');
  t.equal(sample(text, 'corporal_reconciler_last_full_run_success'), 1);
  for (const secret of ['alice-password', token, API_TOKEN, '@alice:localhost']) t.notOk(text.includes(secret), 'no secret and no user id in the metrics');
});
