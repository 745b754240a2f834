import t from 'tap';
import { connect, type Socket } from 'node:net';
import { startHookScenario } from '../../support/hook-scenario.js';
import { matrixCall } from '../../support/matrix-client.js';

/**
 * `HttpGateway.MaxBufferedBytesPerThread` through Corporal's real gateway (one thread) in front of
 * a real Synapse: while one request holds most of the thread's budget, a request whose body a hook
 * must read, and a response an after-hook must hold, get 503 — and Synapse's state shows the
 * refused request never reached it. Once the holder finishes, the same requests go through.
 */

const MAX_BODY = 16 * 1024;
const scenario = await startHookScenario({ gateway: { Threads: 1, MaxInspectedBodyBytes: MAX_BODY, MaxBufferedBytesPerThread: MAX_BODY } });
t.teardown(() => scenario.stop());
const { users } = scenario;

const BUSY = { errcode: 'M_UNKNOWN', error: 'The gateway is inspecting too many large bodies at once; try again shortly' };
const accountDataPath = (type: string): string => `/_matrix/client/v3/user/${encodeURIComponent(users.alice.userId)}/account_data/${type}`;
/** JSON text of exactly `length` bytes. */
const jsonOfLength = (length: number): string => `{"big":"${'x'.repeat(length - 10)}"}`;

await scenario.setHooks([
  // Reads (and changes) every account-data PUT body; holds every account-data GET response.
  { id: 'read-put', eventType: 'beforeAuthenticatedRequest', matchRules: [{ type: 'method', regex: '^PUT$' }, { type: 'route', regex: '/account_data/' }], action: 'pass.modifiedRequest', injectJSONIntoRequest: { hooked: true } },
  { id: 'hold-get', eventType: 'afterAnyRequest', matchRules: [{ type: 'method', regex: '^GET$' }, { type: 'route', regex: '/account_data/' }], action: 'pass.unmodified' },
]);
// Alice's token is in the thread's cache from here on, so the held request reserves at once.
t.equal((await scenario.viaGateway('alice', 'GET', '/_matrix/client/v3/joined_rooms')).status, 200);

/** Opens a PUT of a 12,000-byte body and sends all but its last 1,000 bytes: it holds 12,000 of the 16 KiB. */
async function holdBudget(type: string): Promise<{ socket: Socket; finish(): Promise<string> }> {
  const body = Buffer.from(jsonOfLength(12_000));
  const socket = connect(scenario.gateway.port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    `PUT ${accountDataPath(type)} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${users.alice.accessToken}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
  );
  socket.write(body.subarray(0, body.length - 1000));
  await new Promise((resolve) => setTimeout(resolve, 500));
  return {
    socket,
    finish: () => new Promise((resolve) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        if (/\r\n\r\n[\s\S]*\}/.test(text)) resolve(text);
      });
      socket.write(body.subarray(body.length - 1000));
    }),
  };
}

t.test('while the budget is spent: 503 for bodies to read and responses to hold, nothing reaches Synapse', async (t) => {
  const bigType = 'm.budget.big';
  await matrixCall(scenario.hs.baseUrl, 'PUT', accountDataPath(bigType), { token: users.alice.accessToken, body: JSON.parse(jsonOfLength(8_000)) });
  const held = await holdBudget('m.budget.held');
  t.teardown(() => held.socket.destroy());

  const refused = await scenario.viaGateway('alice', 'PUT', accountDataPath('m.budget.second'), { rawBody: jsonOfLength(8_000) });
  t.equal(refused.status, 503);
  t.same(refused.json, BUSY);
  t.equal(refused.headers['access-control-allow-origin'], '*');
  t.equal(await scenario.accountData('alice', 'm.budget.second'), null, 'Synapse never got the refused request');

  const notHeld = await scenario.viaGateway('alice', 'GET', accountDataPath(bigType));
  t.equal(notHeld.status, 503, 'a response the after-hook cannot hold is not passed on unchecked');
  t.same(notHeld.json, BUSY);

  const small = await scenario.viaGateway('alice', 'PUT', accountDataPath('m.budget.small'), { body: { small: 1 } });
  t.equal(small.status, 200, 'a body that fits beside the held one is read as usual');
  t.same(await scenario.accountData('alice', 'm.budget.small'), { small: 1, hooked: true });

  t.match(await held.finish(), /^HTTP\/1.1 200 /, 'the request holding the budget completes');
  t.match(await scenario.accountData('alice', 'm.budget.held'), { hooked: true });

  const retried = await scenario.viaGateway('alice', 'PUT', accountDataPath('m.budget.second'), { rawBody: jsonOfLength(8_000) });
  t.equal(retried.status, 200, 'the budget is back once the holder ended');
  t.match(await scenario.accountData('alice', 'm.budget.second'), { hooked: true });
  const read = await scenario.viaGateway('alice', 'GET', accountDataPath(bigType));
  t.equal(read.status, 200);
  t.equal((read.json as { big: string }).big.length, 8_000 - 10);
});
