import t, { type Test } from 'tap';
import { startHookScenario } from '../../support/hook-scenario.js';
import { inTurn, rawRequest, wireResponses, type WireResponse } from '../../support/raw-http.js';

/**
 * Hook answers with a status that has no body (204, 304), through Corporal's real gateway in
 * front of a real Synapse, read off the wire with a second request behind on the same connection:
 * no body and (on 204) no `Content-Length`, so the next response on the keep-alive connection is
 * read where it starts. A
 * 1xx status is refused where hooks are validated: in the policy and in a REST service's answer.
 */

const scenario = await startHookScenario();
t.teardown(() => scenario.stop());

const HOOKED = '/_matrix/client/versions';
/** Proxied to Synapse, no hook on it: answers 200 with the login flows. */
const UNHOOKED = '/_matrix/client/v3/login';
const PAYLOAD = { action: 'respond', responsePayload: { hello: 'world' } };

/** The hooked route's answer, then the next one on the same connection. */
async function hookedThenNext(first = HOOKED, next = UNHOOKED): Promise<WireResponse[]> {
  return wireResponses(await inTurn(scenario.gateway.port, [rawRequest('GET', first), rawRequest('GET', next)], 500));
}

/** `answer` has `status`, no body, and a `Content-Length` only when `length` is given. */
function bodyless(t: Test, answer: WireResponse | undefined, status: number, length: number | null): void {
  t.match(answer?.head, new RegExp(`^HTTP/1\\.1 ${status} `), `status ${status}`);
  if (length === null) t.notMatch(answer?.head, /content-length/i, 'no Content-Length');
  else t.match(answer?.head, new RegExp(`Content-Length: ${length}\r\n`, 'i'), 'the length the body would have had');
  t.equal(answer?.body, '', 'no body');
}

t.test('before-hook respond 204 with a payload: no body, and the next response follows intact', async (t) => {
  await scenario.setHooks([{ id: 'no-content', eventType: 'beforeAnyRequest', routeMatchesRegex: '/versions$', responseStatusCode: 204, ...PAYLOAD }]);
  const [first, second, ...rest] = await hookedThenNext();
  bodyless(t, first, 204, null);
  t.match(second, { head: /^HTTP\/1\.1 200 OK\r\n/, body: /"flows"/ }, 'Synapse\'s answer to the next request');
  t.same(rest, []);
});

t.test('before-hook reject with 304: no body', async (t) => {
  await scenario.setHooks([{
    id: 'not-modified', eventType: 'beforeAnyRequest', routeMatchesRegex: '/versions$', action: 'reject', responseStatusCode: 304,
    rejectionErrorCode: 'M_X', rejectionErrorMessage: 'not modified',
  }]);
  const [first, second] = await hookedThenNext();
  bodyless(t, first, 304, JSON.stringify({ errcode: 'M_X', error: 'not modified' }).length);
  t.match(second, { head: /^HTTP\/1\.1 200 OK\r\n/, body: /"flows"/ });
});

t.test('after-hook respond 204 replacing Synapse\'s answer: no body', async (t) => {
  await scenario.setHooks([{ id: 'after-no-content', eventType: 'afterAnyRequest', routeMatchesRegex: '/v3/login$', responseStatusCode: 204, ...PAYLOAD }]);
  const [first, second] = await hookedThenNext(UNHOOKED, HOOKED);
  bodyless(t, first, 204, null);
  t.match(second, { head: /^HTTP\/1\.1 200 OK\r\n/, body: /"versions"/ });
});

t.test('a 1xx status is refused in the policy and in a REST service\'s answer', async (t) => {
  await t.rejects(
    scenario.setHooks([{ id: 'interim', eventType: 'beforeAnyRequest', routeMatchesRegex: '/versions$', responseStatusCode: 100, ...PAYLOAD }]),
    /must be an HTTP status code from 200 to 599/,
  );
  await scenario.setHooks([{
    id: 'ask', eventType: 'beforeAnyRequest', routeMatchesRegex: '/versions$', action: 'consult.RESTServiceURL',
    RESTServiceURL: scenario.serviceHook('interim', { action: 'respond', responseStatusCode: 101, responsePayload: { hello: 'world' } }),
  }]);
  const answer = await scenario.viaGateway(null, 'GET', HOOKED);
  t.equal(answer.status, 503, 'an invalid returned hook is a failed consultation');
  t.same(answer.json, { errcode: 'M_UNKNOWN', error: 'Hook execution failed, cannot proceed' });
});
