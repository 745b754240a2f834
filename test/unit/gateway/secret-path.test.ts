import t from 'tap';
import { redactPathSecrets } from '../../../src/gateway/secret-path.js';
import { hookRequest } from './hooks/fixtures/hook-fixtures.js';

t.test('rendezvous ids and registration tokens in the path are redacted', async (t) => {
  t.equal(redactPathSecrets('/_synapse/client/rendezvous/01HZX7secret'), '/_synapse/client/rendezvous/[redacted]');
  t.equal(redactPathSecrets('/_matrix/client/unstable/io.element.msc4388/rendezvous/abc123'),
    '/_matrix/client/unstable/io.element.msc4388/rendezvous/[redacted]');
  t.equal(redactPathSecrets('/_synapse/admin/v1/registration_tokens/t0ken'), '/_synapse/admin/v1/registration_tokens/[redacted]');
  t.equal(redactPathSecrets('/_synapse/admin/v1/registration_tokens/t0ken/'), '/_synapse/admin/v1/registration_tokens/[redacted]/',
    'a trailing slash stays, the segment goes');
  t.equal(redactPathSecrets('/_synapse/client/rendezvous/a/b'), '/_synapse/client/rendezvous/[redacted]/[redacted]', 'every following segment');
});

t.test('a registration token that only starts with "new" is redacted', async (t) => {
  t.equal(redactPathSecrets('/_synapse/admin/v1/registration_tokens/newT0ken'), '/_synapse/admin/v1/registration_tokens/[redacted]');
  t.equal(redactPathSecrets('/_synapse/admin/v1/registration_tokens/new/x'), '/_synapse/admin/v1/registration_tokens/[redacted]/[redacted]');
});

t.test('"new" is exempt after registration_tokens only; a rendezvous id is redacted whatever it is', async (t) => {
  t.equal(redactPathSecrets('/_synapse/client/rendezvous/new'), '/_synapse/client/rendezvous/[redacted]');
});

t.test('paths without a secret segment are unchanged', async (t) => {
  for (const path of [
    '/_matrix/client/v3/sync',
    '/_matrix/client/unstable/org.matrix.msc4108/rendezvous',
    '/_synapse/admin/v1/registration_tokens',
    '/_synapse/admin/v1/registration_tokens/',
    '/_synapse/admin/v1/registration_tokens/new',
    '/_matrix/client/v3/rooms/!r:x/send/m.room.message/1',
  ]) t.equal(redactPathSecrets(path), path, path);
});

t.test('hook log lines use the redacted path; the hook payload keeps the real one', async (t) => {
  const request = hookRequest({ method: 'GET', rawPath: '/_synapse/client/rendezvous/abc%2Dsecret' });
  t.equal(request.loggedPath, '/_synapse/client/rendezvous/[redacted]');
  t.equal(request.path, '/_synapse/client/rendezvous/abc-secret');
});
