import t from 'tap';
import { inspectLoginResponse, UNREADABLE_LOGIN_RESPONSE } from '../../../../src/gateway/login/login-response.js';
import { loginTestSnapshot } from '../../../fixtures/login/policy.js';

const snapshot = loginTestSnapshot();
const answer = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const session = (userId: string): Buffer => answer({ user_id: userId, access_token: 'syt_token', device_id: 'DEV', home_server: 'example.com' });
/** A passed 200, with the session the gateway seeds its token cache with. */
const passed = (userId: string): object => ({ kind: 'pass', session: { accessToken: 'syt_token', userId, deviceId: 'DEV', expiresInMs: null } });

t.test('only a 200 created a session', async (t) => {
  for (const status of [400, 401, 403, 429, 500, 502]) {
    t.same(inspectLoginResponse(status, session('@dave:example.com'), snapshot, 'token-login'), { kind: 'pass' }, `${status}`);
  }
  t.same(inspectLoginResponse(403, Buffer.from('not json'), snapshot, 'token-login'), { kind: 'pass' });
});

t.test('sessions of active, unmanaged and passthrough users pass', async (t) => {
  for (const userId of ['@alice:example.com', '@zed:example.com', '@bob:example.com', '@Erin:example.com', '@someone:other.org']) {
    t.same(inspectLoginResponse(200, session(userId), snapshot, 'token-login'), passed(userId), userId);
  }
});

t.test('a session of an inactive managed user is refused and names its token', async (t) => {
  t.same(inspectLoginResponse(200, session('@dave:example.com'), snapshot, 'token-login'), {
    kind: 'refuse',
    accessToken: 'syt_token',
    userId: '@dave:example.com',
    answer: { status: 403, errcode: 'M_USER_DEACTIVATED', message: 'Deactivated in policy' },
  });
  t.match(inspectLoginResponse(200, session('@DAVE:example.com'), snapshot, 'token-login'), { kind: 'refuse', userId: '@DAVE:example.com' }, 'compared case-insensitively');
  const inactivePassthrough = loginTestSnapshot({ users: [{ id: '@bob:example.com', authType: 'passthrough', password: 'p', credential: 'p', active: false }] });
  t.match(inspectLoginResponse(200, session('@bob:example.com'), inactivePassthrough, 'token-login'), { kind: 'refuse' }, 'passthrough users too');
});

t.test('a session of an account whose id only matches a managed user ignoring case is refused, whatever the path', async (t) => {
  const CASE_VARIANT = {
    status: 403, errcode: 'M_FORBIDDEN',
    message: "Denied by policy (this account's user id differs only in case from one the policy manages; the policy must name it exactly)",
  };
  for (const reason of ['token-login', 'unmanaged', 'passthrough', '3pid-login'] as const) {
    for (const userId of ['@ERIN:example.com', '@erin:example.com', '@Alice:example.com', '@BOB:example.com']) {
      t.same(inspectLoginResponse(200, session(userId), snapshot, reason), { kind: 'refuse', accessToken: 'syt_token', userId, answer: CASE_VARIANT }, `${reason} ${userId}`);
    }
  }
  t.match(inspectLoginResponse(200, session('@DAVE:example.com'), snapshot, 'token-login'), { answer: { errcode: 'M_USER_DEACTIVATED' } }, 'a variant of an inactive user: inactive first');
});

t.test('an unreadable 200 is refused (fail closed), with the token when there is one', async (t) => {
  t.same(inspectLoginResponse(200, Buffer.from('<html>'), snapshot, 'token-login'), { kind: 'refuse', accessToken: null, userId: null, answer: UNREADABLE_LOGIN_RESPONSE });
  t.same(inspectLoginResponse(200, answer({ access_token: 'tok' }), snapshot, 'token-login'), { kind: 'refuse', accessToken: 'tok', userId: null, answer: UNREADABLE_LOGIN_RESPONSE });
  t.match(inspectLoginResponse(200, answer({ user_id: 5, access_token: 'tok' }), snapshot, 'token-login'), { kind: 'refuse', accessToken: 'tok' });
  t.match(inspectLoginResponse(200, answer([1]), snapshot, 'token-login'), { kind: 'refuse', accessToken: null });
  t.same(UNREADABLE_LOGIN_RESPONSE, { status: 502, errcode: 'M_UNKNOWN', message: 'Unreadable login response from the homeserver' });
});

t.test('a 3PID login of an active managed user Corporal checks passwords for: a stale Synapse password, refused', async (t) => {
  const FAILED = { status: 403, errcode: 'M_FORBIDDEN', message: 'Failed authentication' };
  for (const userId of ['@alice:example.com', '@Erin:example.com', '@alice-rest:example.com']) {
    t.same(inspectLoginResponse(200, session(userId), snapshot, '3pid-login'), { kind: 'refuse', accessToken: 'syt_token', userId, answer: FAILED }, userId);
  }
  for (const userId of ['@bob:example.com', '@zed:example.com']) {
    t.same(inspectLoginResponse(200, session(userId), snapshot, '3pid-login'), passed(userId), `${userId}: passthrough and unmanaged users own their Synapse password`);
  }
  t.match(inspectLoginResponse(200, session('@dave:example.com'), snapshot, '3pid-login'), { answer: { errcode: 'M_USER_DEACTIVATED' } }, 'inactive first');
  for (const reason of ['token-login', 'unmanaged', 'passthrough'] as const) {
    t.same(inspectLoginResponse(200, session('@alice:example.com'), snapshot, reason), passed('@alice:example.com'), `${reason}: Synapse vouched by other means`);
  }
});

t.test('a passed 200 without a token or a device passes without a session, or with no device', async (t) => {
  t.same(inspectLoginResponse(200, answer({ user_id: '@zed:example.com' }), snapshot, 'token-login'), { kind: 'pass' });
  t.same(inspectLoginResponse(200, answer({ user_id: '@zed:example.com', access_token: 't' }), snapshot, 'token-login'),
    { kind: 'pass', session: { accessToken: 't', userId: '@zed:example.com', deviceId: null, expiresInMs: null } });
  t.match(inspectLoginResponse(200, answer({ user_id: '@zed:example.com', access_token: 't', expires_in_ms: 60_000 }), snapshot, 'token-login'),
    { session: { expiresInMs: 60_000 } }, 'a token that expires says when');
});

t.test('a login forwarded with the derived password is vetted like the others', async (t) => {
  t.same(inspectLoginResponse(200, session('@alice:example.com'), snapshot, 'verified-password'), passed('@alice:example.com'), 'the new session is handed on');
  t.match(inspectLoginResponse(200, session('@dave:example.com'), snapshot, 'verified-password'), { kind: 'refuse', accessToken: 'syt_token' },
    'a user made inactive while the answer was on its way: refused, its session logged out');
});
