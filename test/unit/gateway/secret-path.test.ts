import t from 'tap';
import { redactPathSecrets } from '../../../src/gateway/secret-path.js';
import { hookRequest } from './hooks/fixtures/hook-fixtures.js';

t.test('rendezvous ids and registration tokens in the path are redacted', async (t) => {
  t.equal(redactPathSecrets('/_synapse/client/rendezvous/01HZX7secret', 'GET'), '/_synapse/client/rendezvous/[redacted]');
  t.equal(redactPathSecrets('/_matrix/client/unstable/io.element.msc4388/rendezvous/abc123', 'GET'),
    '/_matrix/client/unstable/io.element.msc4388/rendezvous/[redacted]');
  t.equal(redactPathSecrets('/_synapse/admin/v1/registration_tokens/t0ken', 'GET'), '/_synapse/admin/v1/registration_tokens/[redacted]');
  t.equal(redactPathSecrets('/_synapse/admin/v1/registration_tokens/t0ken/', 'GET'), '/_synapse/admin/v1/registration_tokens/[redacted]/',
    'a trailing slash stays, the segment goes');
  t.equal(redactPathSecrets('/_synapse/client/rendezvous/a/b', 'GET'), '/_synapse/client/rendezvous/[redacted]/[redacted]', 'every following segment');
});

t.test('a registration token that only starts with "new" is redacted', async (t) => {
  t.equal(redactPathSecrets('/_synapse/admin/v1/registration_tokens/newT0ken', 'GET'), '/_synapse/admin/v1/registration_tokens/[redacted]');
  t.equal(redactPathSecrets('/_synapse/admin/v1/registration_tokens/new/x', 'GET'), '/_synapse/admin/v1/registration_tokens/[redacted]/[redacted]');
});

t.test('"new" is exempt after registration_tokens only; a rendezvous id is redacted whatever it is', async (t) => {
  t.equal(redactPathSecrets('/_synapse/client/rendezvous/new', 'POST'), '/_synapse/client/rendezvous/[redacted]');
});

t.test('paths without a secret segment are unchanged', async (t) => {
  for (const path of [
    '/_matrix/client/v3/sync',
    '/_matrix/client/unstable/org.matrix.msc4108/rendezvous',
    '/_synapse/admin/v1/registration_tokens',
    '/_synapse/admin/v1/registration_tokens/',
    '/_matrix/client/v3/rooms/!r:x/send/m.room.message/1',
  ]) t.equal(redactPathSecrets(path, 'GET'), path, path);
});

t.test('"registration_tokens/new" creates a token only when POSTed; otherwise "new" is a token\'s name', async (t) => {
  t.equal(redactPathSecrets('/_synapse/admin/v1/registration_tokens/new', 'POST'), '/_synapse/admin/v1/registration_tokens/new');
  t.equal(redactPathSecrets('/_synapse/admin/v1/registration_tokens/new/', 'post'), '/_synapse/admin/v1/registration_tokens/new/');
  for (const method of ['GET', 'PUT', 'DELETE']) {
    t.equal(redactPathSecrets('/_synapse/admin/v1/registration_tokens/new', method), '/_synapse/admin/v1/registration_tokens/[redacted]', method);
  }
});

t.test('hook log lines use the redacted path; the hook payload keeps the real one', async (t) => {
  const request = hookRequest({ method: 'GET', rawPath: '/_synapse/client/rendezvous/abc%2Dsecret' });
  t.equal(request.loggedPath, '/_synapse/client/rendezvous/[redacted]');
  t.equal(request.path, '/_synapse/client/rendezvous/abc-secret');
});
