import t from 'tap';
import { pushAndSettle } from '../../support/control-plane-api.js';
import { waitFor } from '../../support/control-plane.js';
import type { LogLine } from '../../support/corporal-process.js';
import { matrixRequest, type MatrixResponse } from '../../support/matrix-client.js';
import { serveAgainst, synapseWithCorporalAdmin } from '../../support/serve-against.js';
import { startRestAuthService } from '../../unit/offload/fixtures/rest-auth-service.js';
import { deviceIds, passwordLogin } from '../../fixtures/login/login-world.js';
import { loginPolicyDocument } from '../../fixtures/login/policy.js';

/**
 * The `rest` fallback cache across gateway threads, on a real `corporal serve` (2 threads) in
 * front of a real Synapse and a real REST auth service (quality review 18, #15; mutation review:
 * emptying the `rest-auth.forget` case of gateway/thread.ts was caught by no test).
 *
 * Rita logs in on both threads, so both cache her password. The service then refuses it (changed
 * at the source): the thread that hears the "no" forgets it and has the supervisor tell the other
 * thread to forget it too. With the service down, the old password must then be refused on every
 * thread — the thread that never heard the "no" included — and Synapse must have opened no session.
 *
 * Which thread served a request is read from the access log (`component: gateway-<index>`); the
 * kernel spreads connections over the threads (SO_REUSEPORT), so logins go over fresh connections
 * until each thread has served one.
 */

/** `HttpGateway.Threads`. */
const THREAD_COUNT = 2;
const RITA = '@rita:localhost';
const OLD_PASSWORD = 'rita-old-pw';
const NEW_PASSWORD = 'rita-new-pw';
const LOGIN_PATH = '/_matrix/client/v3/login';
/** What a login refused because the service is down (and no cache vouched for it) gets. */
const AUTHENTICATOR_ERROR = { errcode: 'M_UNKNOWN', error: 'Internal authenticator error' };

const hs = await synapseWithCorporalAdmin(t);
const rest = await startRestAuthService();
t.teardown(() => rest.close());
rest.accounts.set(RITA, OLD_PASSWORD);
const { corporal, api, gatewayUrl } = await serveAgainst(t, {
  homeserverUrl: hs.baseUrl,
  registrationSharedSecret: hs.registrationSharedSecret,
  overrides: {
    HttpGateway: { Threads: THREAD_COUNT, AccessLog: true },
    UserAuth: { RestCacheFallback: true },
    Misc: { LogLevel: 'info' },
  },
});
const policy = (stamp: string): Record<string, unknown> => ({
  ...loginPolicyDocument([{ id: RITA, authType: 'rest', credential: `${rest.origin}/users`, displayName: 'Rita' }]),
  identificationStamp: stamp,
});

/** The gateway threads, by the `component` their log lines carry; filled in from the status once serving. */
let THREADS: string[] = [];

/** The status's gateway part (the control child answers it once it has asked the supervisor). */
async function gatewayThreads(): Promise<Array<{ index: number; restarts: number }>> {
  const { gateway } = await api.status();
  if ('error' in gateway) throw new Error(`status has no gateway part: ${gateway.error}`);
  return gateway.threads;
}

const isLoginLine = (line: LogLine): boolean => line.msg === 'request' && line['method'] === 'POST' && line['path'] === LOGIN_PATH;

/** One login as Rita, on a connection of its own; resolves with the answer and the thread that served it. */
async function loginOnFreshConnection(password: string): Promise<{ answer: MatrixResponse; thread: string }> {
  const served = corporal.logs.filter(isLoginLine).length;
  const answer = await matrixRequest(gatewayUrl, 'POST', LOGIN_PATH, { body: passwordLogin('rita', password), headers: { connection: 'close' } });
  // Logins are sent one at a time, so the next access line for the login path is this one's.
  await waitFor('the access line of the login', () => corporal.logs.filter(isLoginLine).length > served);
  const line = corporal.logs.filter(isLoginLine)[served]!;
  return { answer, thread: String(line.component) };
}

/** Logs in as Rita with `password` until every thread has served at least one of the logins; their answers, by thread. */
async function loginOnEveryThread(password: string): Promise<Map<string, MatrixResponse[]>> {
  const byThread = new Map<string, MatrixResponse[]>();
  // Each fresh connection lands on either thread: 64 tries all on one thread happen once in 2^63.
  for (let attempt = 0; attempt < 64 && byThread.size < THREADS.length; attempt++) {
    const { answer, thread } = await loginOnFreshConnection(password);
    byThread.set(thread, [...(byThread.get(thread) ?? []), answer]);
  }
  if (byThread.size < THREADS.length) throw new Error(`64 logins over fresh connections all went to ${[...byThread.keys()].join(', ')}`);
  return byThread;
}

const summary = (answers: MatrixResponse[]): Array<[number, unknown]> => answers.map((answer) => [answer.status, answer.json]);

t.test('a refusal heard by one thread evicts the cached password in every thread', async (t) => {
  await api.statusWhenUp();
  // The reconciler creates Rita (with her derived password) and every thread enforces the policy.
  await pushAndSettle(api, policy('v1'));
  THREADS = (await gatewayThreads()).map((thread) => `gateway-${thread.index}`);
  t.equal(THREADS.length, THREAD_COUNT, 'the status lists every gateway thread');

  const accepted = await loginOnEveryThread(OLD_PASSWORD);
  t.same([...accepted.keys()].sort(), THREADS, 'both threads served a login');
  for (const [thread, answers] of accepted) {
    t.ok(answers.every((answer) => answer.status === 200 && (answer.json as { user_id?: string }).user_id === RITA), `${thread}: logged in (and cached the password)`);
  }

  // Control: with the service down, each thread's cache vouches for the password. Without this,
  // the refusals below could come from an empty cache rather than from an eviction.
  rest.mode = 'unavailable';
  const fromCache = await loginOnEveryThread(OLD_PASSWORD);
  for (const [thread, answers] of fromCache) {
    t.ok(answers.every((answer) => answer.status === 200), `${thread}: the service down, the cache logs Rita in`);
  }
  await waitFor('a cache-fallback warning from every thread', () => THREADS.every((thread) =>
    corporal.logs.some((line) => line.component === thread && line.msg === 'password check: accepted from the rest fallback cache (auth service unavailable)')));

  // The password changes at the source; the service is back and refuses the old one.
  rest.mode = 'up';
  rest.accounts.set(RITA, NEW_PASSWORD);
  const devicesBefore = await deviceIds(hs, RITA);
  const refusal = await loginOnFreshConnection(OLD_PASSWORD);
  t.same([refusal.answer.status, refusal.answer.json], [403, { errcode: 'M_FORBIDDEN', error: 'Failed authentication' }], `${refusal.thread}: the service refuses the old password`);
  t.ok(THREADS.includes(refusal.thread), 'a gateway thread served it');
  // The refusing thread posted the forget before it answered; the supervisor relays it to every
  // thread before the snapshot of a policy pushed after that answer, on the same port, and a
  // thread reports a generation applied only once it handled what came before it. So once every
  // thread enforces the next generation, every thread has handled the forget.
  await pushAndSettle(api, policy('v2'), false);

  // The service is down again: nothing may vouch for the old password any more, on any thread.
  rest.mode = 'unavailable';
  const afterEviction = await loginOnEveryThread(OLD_PASSWORD);
  for (const thread of THREADS) {
    const answers = afterEviction.get(thread)!;
    t.same(summary(answers), answers.map(() => [403, AUTHENTICATOR_ERROR]),
      `${thread}${thread === refusal.thread ? ' (heard the refusal)' : ' (was told by the other thread)'}: the old password is refused, not taken from a stale cache`);
  }
  t.same(await deviceIds(hs, RITA), devicesBefore, 'Synapse: no session was opened by the refused logins');
  // A restarted thread starts with an empty cache: it would refuse the old password without the forget.
  t.same((await gatewayThreads()).map((thread) => thread.restarts), THREADS.map(() => 0), 'no thread restarted meanwhile');

  corporal.process.kill('SIGTERM');
  t.equal(await corporal.exited, 0, 'corporal drains and exits');
});
