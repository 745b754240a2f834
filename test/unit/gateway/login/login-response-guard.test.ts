import t, { type Test } from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { createSilentLogger } from '../../../../src/common/logger.js';
import { createLoginResponseGuard } from '../../../../src/gateway/login/login-response-guard.js';
import type { HomeserverClient } from '../../../../src/gateway/login/revoke-session.js';
import { loginTestSnapshot } from '../../../fixtures/login/policy.js';

interface Logout {
  path: string;
  authorization: string | undefined;
}

/** A real HTTP server standing for the homeserver's `/logout`: answers `status`, or never when `hang`. */
async function logoutEndpoint(t: Test, behaviour: { status?: number; hang?: boolean } = {}): Promise<{ client: HomeserverClient; calls: Logout[] }> {
  const calls: Logout[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      calls.push({ path: req.url ?? '', authorization: req.headers.authorization });
      if (behaviour.hang) return;
      res.writeHead(behaviour.status ?? 200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dispatcher = new Pool(origin, { connections: 2 });
  t.teardown(async () => {
    await dispatcher.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { client: { dispatcher, origin, basePath: '/base', timeoutMs: 300 }, calls };
}

const snapshot = loginTestSnapshot();
const session = (userId: string): Buffer => Buffer.from(JSON.stringify({ user_id: userId, access_token: 'syt_new', device_id: 'D' }));

t.test('an allowed session passes without any call', async (t) => {
  const { client, calls } = await logoutEndpoint(t);
  const guard = createLoginResponseGuard(client, createSilentLogger());
  t.equal(await guard(200, session('@alice:example.com'), snapshot, 'token-login'), null);
  t.equal(await guard(403, session('@dave:example.com'), snapshot, 'token-login'), null);
  t.same(calls, []);
});

t.test('an inactive user: the new token is logged out, then refused', async (t) => {
  const { client, calls } = await logoutEndpoint(t);
  const guard = createLoginResponseGuard(client, createSilentLogger());
  t.same(await guard(200, session('@dave:example.com'), snapshot, 'token-login'), { status: 403, errcode: 'M_USER_DEACTIVATED', message: 'Deactivated in policy' });
  t.same(calls, [{ path: '/base/_matrix/client/v3/logout', authorization: 'Bearer syt_new' }]);
});

t.test('refused even when the logout fails or hangs', async (t) => {
  for (const behaviour of [{ status: 500 }, { hang: true }]) {
    const { client, calls } = await logoutEndpoint(t, behaviour);
    const guard = createLoginResponseGuard(client, createSilentLogger());
    t.match(await guard(200, session('@dave:example.com'), snapshot, 'token-login'), { status: 403, errcode: 'M_USER_DEACTIVATED' }, JSON.stringify(behaviour));
    t.equal(calls.length, 1);
  }
  const unreachable: HomeserverClient = { dispatcher: new Pool('http://127.0.0.1:9'), origin: 'http://127.0.0.1:9', basePath: '', timeoutMs: 300 };
  t.teardown(() => unreachable.dispatcher.destroy());
  t.match(await createLoginResponseGuard(unreachable, createSilentLogger())(200, session('@dave:example.com'), snapshot, 'token-login'), { status: 403 }, 'homeserver unreachable');
});

t.test('an unreadable 200 is refused; a token in it is logged out', async (t) => {
  const { client, calls } = await logoutEndpoint(t);
  const guard = createLoginResponseGuard(client, createSilentLogger());
  t.match(await guard(200, Buffer.from('{"access_token":"syt_x"}'), snapshot, 'token-login'), { status: 502 });
  t.match(await guard(200, Buffer.from('garbage'), snapshot, 'token-login'), { status: 502 });
  t.same(calls.map((call) => call.authorization), ['Bearer syt_x']);
});

t.test('a login forwarded with an unmatchable password: Failed authentication, except Synapse\'s 429', async (t) => {
  const { client, calls } = await logoutEndpoint(t);
  const guard = createLoginResponseGuard(client, createSilentLogger());
  const FAILED = { status: 403, errcode: 'M_FORBIDDEN', message: 'Failed authentication' };
  const invalid = Buffer.from(JSON.stringify({ errcode: 'M_FORBIDDEN', error: 'Invalid username or password' }));
  t.same(await guard(403, invalid, snapshot, 'refused-password'), FAILED, "Synapse's 403 becomes matrix-corporal's answer");
  t.same(await guard(400, Buffer.from('nope'), snapshot, 'refused-password'), FAILED);
  t.equal(await guard(429, Buffer.from('{"errcode":"M_LIMIT_EXCEEDED","retry_after_ms":5000}'), snapshot, 'refused-password'), null, 'the rate limit reaches the client');
  t.same(calls, []);
  t.same(await guard(200, session('@alice:example.com'), snapshot, 'refused-password'), FAILED, 'a session nobody should have got is refused…');
  t.same(calls, [{ path: '/base/_matrix/client/v3/logout', authorization: 'Bearer syt_new' }], '…and logged out');
});

t.test('the session of a passed login is handed on (the thread seeds its token cache); a refused one never is', async (t) => {
  const { client } = await logoutEndpoint(t);
  const sessions: unknown[] = [];
  const guard = createLoginResponseGuard(client, createSilentLogger(), (created) => sessions.push(created));
  t.equal(await guard(200, session('@alice:example.com'), snapshot, 'token-login'), null);
  t.not(await guard(200, session('@dave:example.com'), snapshot, 'token-login'), null, 'an inactive user\'s session is refused');
  t.equal(await guard(403, session('@alice:example.com'), snapshot, 'token-login'), null);
  t.same(sessions, [{ accessToken: 'syt_new', userId: '@alice:example.com', deviceId: 'D', expiresInMs: null }]);
});
