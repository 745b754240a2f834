import t from 'tap';
import { POLICY_CHECKS } from '../../../../src/gateway/checks/registry.js';
import { tokenDenial } from '../../../../src/gateway/checks/token-rules.js';
import { DECISIONS, type Denial } from '../../../../src/gateway/checks/decision.js';
import { sendDenial, tokenStateOf } from '../../../../src/gateway/checks/check-phase.js';
import { EXPIRED_TOKEN, UNKNOWN_TOKEN } from '../../../../src/gateway/identity/identity.js';
import type { ClientExchange, HeaderPair } from '../../../../src/gateway/respond.js';

/**
 * Parity 18, P4: an expired refreshable token (whoami's `soft_logout: true`) gets Synapse's own
 * answer on policy-checked routes, the client's cue to refresh; a token Synapse does not know at
 * all keeps matrix-corporal's 403.
 */

const send = POLICY_CHECKS.get('room.send');
const password = POLICY_CHECKS.get('account.password');
if (send === undefined || password === undefined) throw new Error('room.send and account.password are policy-checked');

/** What a denial sent through a stand-in exchange looks like on the wire. */
function sent(denial: Denial): { status: number; contentType: string | undefined; cors: string | undefined; body: unknown } {
  let answer: { status: number; headers: readonly HeaderPair[]; body: string } | null = null;
  const exchange = {
    send: (status: number, headers: readonly HeaderPair[], body: string) => void (answer = { status, headers, body }),
    sendMatrixError: (status: number, errcode: string, error: string) =>
      void (answer = { status, headers: [['Content-Type', 'application/json'], ['Access-Control-Allow-Origin', '*']], body: JSON.stringify({ errcode, error }) }),
  } as unknown as ClientExchange;
  sendDenial(exchange, denial);
  if (answer === null) throw new Error('nothing sent');
  const { status, headers, body } = answer as { status: number; headers: readonly HeaderPair[]; body: string };
  const header = (name: string): string | undefined => headers.find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
  return { status, contentType: header('content-type'), cors: header('access-control-allow-origin'), body: JSON.parse(body) as unknown };
}

t.test('an expired token is a 401 soft logout, an unknown one the 403', async (t) => {
  t.equal(tokenStateOf(EXPIRED_TOKEN), 'expired');
  t.equal(tokenStateOf(UNKNOWN_TOKEN), 'unknown');
  for (const check of [send, password]) {
    t.equal(tokenDenial(check, 'expired'), DECISIONS.expiredToken, 'also on a route that runs without a token');
    t.equal(tokenDenial(check, 'unknown'), DECISIONS.unknownToken);
  }
  t.same(sent(tokenDenial(send, tokenStateOf(EXPIRED_TOKEN)) as Denial), {
    status: 401,
    contentType: 'application/json',
    cors: '*',
    body: { errcode: 'M_UNKNOWN_TOKEN', error: 'Access token has expired', soft_logout: true },
  }, "Synapse's answer, soft_logout included");
  t.same(sent(tokenDenial(send, tokenStateOf(UNKNOWN_TOKEN)) as Denial), {
    status: 403,
    contentType: 'application/json',
    cors: '*',
    body: { errcode: 'M_UNKNOWN_TOKEN', error: 'Failed mapping access token to user id' },
  }, "matrix-corporal's 403, without soft_logout");
});
