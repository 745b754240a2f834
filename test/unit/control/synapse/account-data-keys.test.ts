import t from 'tap';
import { AVATAR_SOURCE_HASHES_KEY, PASSWORD_MARKER_KEY, isCurrentPasswordMarker, passwordMarkerTag } from '../../../../src/control/synapse/account-data-keys.js';
import { derivedPassword } from '../../../../src/common/derived-password.js';
import { flag } from '../../../../src/control/synapse/json-fields.js';
import { rateLimitWaitMs } from '../../../../src/control/synapse/rate-limit.js';
import { registrationMac } from '../../../../src/control/synapse/registration-api.js';
import { registrationMac as harnessRegistrationMac, sharedSecretAuthPassword } from '../../../support/matrix-hmac.js';

t.test("the derived password is exactly what devture's shared-secret-auth module accepts", async (t) => {
  for (const userId of ['@alice:example.com', '@Ünïcode:hs', '@UPPER:hs']) {
    t.equal(derivedPassword('s3cret', userId), sharedSecretAuthPassword('s3cret', userId));
  }
  t.match(derivedPassword('s', '@a:hs'), /^[0-9a-f]{128}$/);
});

t.test('the registration MAC matches the harness implementation', async (t) => {
  t.equal(registrationMac('secret', 'nonce', 'corporal', 'pw', true), harnessRegistrationMac('secret', 'nonce', 'corporal', 'pw', true));
  t.equal(registrationMac('secret', 'nonce', 'bob', 'pw', false), harnessRegistrationMac('secret', 'nonce', 'bob', 'pw', false));
});

t.test('the password marker: short, tied to the secret and the user, never the password', async (t) => {
  t.equal(PASSWORD_MARKER_KEY, 'io.corporal.password');
  const tag = passwordMarkerTag('first secret', '@a:hs');
  t.match(tag, /^[0-9a-f]{8}$/);
  t.equal(passwordMarkerTag('first secret', '@a:hs'), tag, 'deterministic');
  t.not(passwordMarkerTag('second secret', '@a:hs'), tag, 'changes with the secret');
  t.not(passwordMarkerTag('first secret', '@b:hs'), tag, 'differs per user: a tag cannot be copied into another account');
  t.not(passwordMarkerTag('first secret', '@A:hs'), tag, 'the exact user id');
  t.notOk(derivedPassword('first secret', '@a:hs').includes(tag));
  t.ok(isCurrentPasswordMarker({ secret_tag: tag }, 'first secret', '@a:hs'));
  t.notOk(isCurrentPasswordMarker({ secret_tag: tag }, 'second secret', '@a:hs'));
  t.notOk(isCurrentPasswordMarker({ secret_tag: tag }, 'first secret', '@b:hs'));
  for (const content of [undefined, null, 'x', {}, { secret_tag: 1 }]) t.notOk(isCurrentPasswordMarker(content, 'first secret', '@a:hs'));
});

t.test("avatar source hashes are kept under matrix-corporal's key", async (t) => {
  t.equal(AVATAR_SOURCE_HASHES_KEY, 'com.devture.matrix.corporal.avatar_source_uri_hashes');
});

t.test('Synapse flags as booleans or integers', async (t) => {
  const table: [unknown, boolean][] = [[true, true], [false, false], [1, true], [0, false], [2, true], [null, false], [undefined, false], ['1', false]];
  for (const [value, expected] of table) t.equal(flag(value), expected, JSON.stringify(value) ?? 'undefined');
});

t.test('rate-limit waits: body, then Retry-After seconds, then the fallback', async (t) => {
  t.equal(rateLimitWaitMs({ retry_after_ms: 250.2 }, '9', 1000), 251);
  t.equal(rateLimitWaitMs({ retry_after_ms: 0 }, undefined, 1000), 0);
  t.equal(rateLimitWaitMs({}, '3', 1000), 3000);
  t.equal(rateLimitWaitMs(undefined, ['4', '5'], 1000), 4000);
  t.equal(rateLimitWaitMs({ retry_after_ms: -5 }, 'Wed, 21 Oct 2015 07:28:00 GMT', 1000), 1000);
  t.equal(rateLimitWaitMs({ retry_after_ms: '10' }, undefined, 1000), 1000);
});
