import t from 'tap';
import { connect } from 'node:net';
import { hashSync } from 'bcryptjs';
import { derivedPassword } from '../../../src/common/derived-password.js';
import { startSynapse } from '../../support/start-synapse.js';
import { matrixRequest, registerUser, type MatrixResponse } from '../../support/matrix-client.js';
import { startGateway } from '../../integration/gateway/fixtures/gateway-harness.js';
import { MAX_CHECKS_PER_ADDRESS } from '../../../src/gateway/login/password-check-limits.js';
import { deviceIds, passwordLogin } from '../../fixtures/login/login-world.js';
import { loginPolicyDocument } from '../../fixtures/login/policy.js';

/**
 * Red team 4, F3, in small: wrong-password logins for one bcrypt user from clients that leave at
 * once must not fill the thread's password-check queue. One gateway thread, one pool slot, a
 * queue of 8 and a bcrypt cost of about 150 ms per check, so that the queue the old code filled
 * with departed clients' checks is easy to fill and slow to drain.
 */
const SECRET = 'test-shared-secret';
const victim = { localpart: 'victim', id: '@victim:localhost', password: 'victim-pw' };
const other = { localpart: 'other', id: '@other:localhost', password: 'other-pw' };
/** Managed users one client spreads its guesses over (red team 6, F1); not registered: Synapse answers 403 either way. */
const spread = Array.from({ length: MAX_CHECKS_PER_ADDRESS + 2 }, (_, i) => ({ localpart: `spread${i}`, id: `@spread${i}:localhost`, password: `spread${i}-pw` }));

const hs = await startSynapse({});
t.teardown(() => hs.stop());
for (const user of [victim, other]) await registerUser(hs, { localpart: user.localpart, password: derivedPassword(SECRET, user.id) });
const policy = loginPolicyDocument([victim, other, ...spread].map((user) => ({
  id: user.id, authType: 'bcrypt' as const, credential: hashSync(user.password, 11), displayName: user.localpart,
})));
const gw = await startGateway({
  upstream: hs.baseUrl,
  threads: 1,
  policy,
  offload: { Threads: 1, ConcurrentTasksPerWorker: 1, MaxQueue: 8 },
});
t.teardown(() => gw.stop());

/** A login POST as raw bytes: the attacker's, sent whole and then abandoned. */
function rawLogin(user: string, password: string): string {
  const body = JSON.stringify(passwordLogin(user, password));
  return `POST /_matrix/client/v3/login HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.66\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** One attacker loop: connect, send a wrong-password login for `user`, close after 5 ms; until `until`. */
async function abandonLoop(user: string, until: number): Promise<number> {
  let sent = 0;
  while (Date.now() < until) {
    await new Promise<void>((resolve) => {
      const socket = connect(gw.port, '127.0.0.1', () => {
        socket.write(rawLogin(user, `wrong-${sent}`));
        setTimeout(() => socket.destroy(), 5);
      });
      socket.on('error', () => {});
      socket.once('close', () => resolve());
    });
    sent++;
  }
  return sent;
}

/** The attack: `loops` abandoning clients for `ms`. */
async function attack(user: string, loops: number, ms: number): Promise<number> {
  const until = Date.now() + ms;
  const counts = await Promise.all(Array.from({ length: loops }, () => abandonLoop(user, until)));
  return counts.reduce((a, b) => a + b, 0);
}

/** Status and errcode only: never an access token in the test output. */
function summary(answer: MatrixResponse): string {
  return `${answer.status} ${(answer.json as { errcode?: string } | null)?.errcode ?? ''}`;
}

/** Completion order of the logins of a test (no timing thresholds: only what happened first). */
let finished = 0;
const ownAddresses = new Map<string, string>();
/** The address `user` logs in from unless told otherwise: one of its own. */
function ownAddress(user: string): string {
  let address = ownAddresses.get(user);
  if (address === undefined) ownAddresses.set(user, (address = `198.51.100.${ownAddresses.size + 1}`));
  return address;
}

/**
 * A login from the client at `from`: the test's connections come from 127.0.0.1, a trusted proxy
 * by default, so the gateway takes the client's address from `X-Forwarded-For`. Each user logs in
 * from an address of its own unless told otherwise, so that only the per-user bound applies.
 */
async function login(user: string, password: string, from = ownAddress(user)): Promise<{ answer: MatrixResponse; order: number }> {
  const answer = await matrixRequest(gw.baseUrl, 'POST', '/_matrix/client/v3/login', { body: passwordLogin(user, password), headers: { 'x-forwarded-for': from } });
  return { answer, order: ++finished };
}

const baseline = await login(other.localpart, other.password);
if (baseline.answer.status !== 200) throw new Error(`baseline login failed: ${summary(baseline.answer)}`);

t.test('abandoned wrong-password logins for one user: another user logs in during the attack, the victim right after it', async (t) => {
  const flood = attack(victim.localpart, 8, 2500);
  await new Promise((resolve) => setTimeout(resolve, 800));
  // The old code answered this 503: the queue of 8 was full of departed clients' checks.
  const during = await login(other.localpart, other.password);
  t.equal(during.answer.status, 200, `another managed user logs in during the attack (got ${summary(during.answer)})`);
  const sent = await flood;
  t.ok(sent > 50, `the attack sent ${sent} abandoned logins`);
  // The check running when the attack ended may still hold one of the victim's 2 places, and the
  // gateway may see the last attacker leave just after the victim arrives: a 429 is then the
  // documented answer, and its retry_after_ms is honoured. Never a 503 (queue full) or a hang.
  let after = await login(victim.localpart, victim.password);
  for (let retry = 0; retry < 5 && after.answer.status === 429; retry++) {
    await new Promise((resolve) => setTimeout(resolve, (after.answer.json as { retry_after_ms: number }).retry_after_ms));
    after = await login(victim.localpart, victim.password);
  }
  t.equal(after.answer.status, 200, `the victim logs in right after the attack (got ${summary(after.answer)})`);
});

t.test('per user: a third concurrent check of one user is answered 429 M_LIMIT_EXCEEDED at once', async (t) => {
  const answers = await Promise.all([0, 1, 2].map((i) => {
    // Staggered so that the first two are surely admitted before the third arrives.
    return new Promise((resolve) => setTimeout(resolve, i * 20)).then(() => login(victim.localpart, i === 2 ? victim.password : 'wrong'));
  }));
  t.same(answers.slice(0, 2).map(({ answer }) => answer.status), [403, 403], 'the first two are checked (wrong passwords)');
  const third = answers[2]!;
  t.equal(third.answer.status, 429);
  t.match(third.answer.json, { errcode: 'M_LIMIT_EXCEEDED', retry_after_ms: 1000 });
  t.equal(third.answer.headers['retry-after'], '1');
  t.ok(third.order < answers[1]!.order, 'answered before the checks ahead of it finished');
  const retried = await login(victim.localpart, victim.password);
  t.equal(retried.answer.status, 200, 'once they finished, the user logs in');
});

t.test(`per client address: one client's checks over many users are capped at ${MAX_CHECKS_PER_ADDRESS} at once; another client logs in meanwhile`, async (t) => {
  const devicesBefore = await deviceIds(hs, other.id);
  // All at once: each check takes a bcrypt at cost 11, far longer than the requests take to arrive.
  const guesses = Promise.all(spread.map((user) => login(user.localpart, 'wrong', '203.0.113.66')));
  // The same client, writing each request from a new address of its IPv6 /64, is the same client.
  const fromV6 = login(spread[0]!.localpart, 'wrong', '2001:db8:1:2::99');
  const meanwhile = await login(other.localpart, other.password, '198.51.100.200');
  t.equal(meanwhile.answer.status, 200, `another client logs in while the first holds its ${MAX_CHECKS_PER_ADDRESS} places (got ${summary(meanwhile.answer)})`);
  t.equal((await deviceIds(hs, other.id)).length, devicesBefore.length + 1, 'and Synapse gave it a new device');

  const answers = await guesses;
  const checked = answers.filter(({ answer }) => answer.status === 403);
  const capped = answers.filter(({ answer }) => answer.status !== 403);
  t.equal(checked.length, MAX_CHECKS_PER_ADDRESS, `${MAX_CHECKS_PER_ADDRESS} are checked (wrong passwords): ${answers.map(({ answer }) => answer.status).join(' ')}`);
  const lastChecked = Math.max(...checked.map(({ order }) => order));
  for (const { answer, order } of capped) {
    t.equal(answer.status, 429, 'the rest are refused at once, whichever user they name');
    t.match(answer.json, { errcode: 'M_LIMIT_EXCEEDED', error: 'Too many password checks in progress from this address; retry later', retry_after_ms: 1000 });
    t.ok(order < lastChecked, 'answered before the checks ahead of them finished');
  }
  t.equal((await fromV6).answer.status, 403, 'one IPv6 address alone is checked');
  const v6 = await Promise.all(spread.slice(1).map((user, i) => login(user.localpart, 'wrong', `2001:db8:1:2::${i + 1}`)));
  t.ok(v6.some(({ answer }) => answer.status === 429), `addresses of one /64 share the bound (${v6.map(({ answer }) => answer.status).join(' ')})`);
});
