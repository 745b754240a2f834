import t from 'tap';
import { equivalentRoutePaths } from '../../../../src/gateway/hooks/equivalent-paths.js';

t.test('a client path is spelled under every client prefix, itself first', async (t) => {
  t.same(equivalentRoutePaths('/_matrix/client/api/v1/login'), [
    '/_matrix/client/api/v1/login',
    '/_matrix/client/v3/login', '/_matrix/client/r0/login', '/_matrix/client/v1/login', '/_matrix/client/unstable/login',
  ]);
  t.same(equivalentRoutePaths('/_matrix/client/v3/rooms/!r:x/send/m.room.message/t%2F1').slice(1, 3), [
    '/_matrix/client/r0/rooms/!r:x/send/m.room.message/t%2F1', '/_matrix/client/api/v1/rooms/!r:x/send/m.room.message/t%2F1',
  ], 'the rest of the path is kept as it is');
});

t.test('media: both trees', async (t) => {
  const forms = equivalentRoutePaths('/_matrix/media/r0/download/x/abc');
  t.equal(forms[0], '/_matrix/media/r0/download/x/abc');
  t.ok(forms.includes('/_matrix/media/v3/download/x/abc'));
  t.ok(forms.includes('/_matrix/client/v1/media/download/x/abc'), 'authenticated media');
  t.ok(equivalentRoutePaths('/_matrix/client/v1/media/thumbnail/x/abc').includes('/_matrix/media/v3/thumbnail/x/abc'));
});

t.test('paths without another spelling', async (t) => {
  for (const path of ['/_matrix/client/unstable/org.matrix.msc3575/sync', '/_synapse/admin/v1/users', '/_matrix/client/versions', '/_matrix/client/v3']) {
    const forms = equivalentRoutePaths(path);
    t.equal(forms[0], path, path);
    if (!path.includes('/unstable/')) t.equal(forms.length, 1, `${path}: alone`);
  }
});
