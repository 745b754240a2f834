import t from 'tap';
import { isServedLoginPath } from '../../../../src/gateway/login/served-login-paths.js';

t.test("only the raw paths of Synapse 1.163.2's LoginRestServlet run a login", async (t) => {
  for (const path of ['/_matrix/client/v3/login', '/_matrix/client/r0/login', '/_matrix/client/api/v1/login', '/_matrix/client/unstable/login']) {
    t.ok(isServedLoginPath(path), path);
  }
  for (const path of [
    '/_matrix/client/v1/login',
    '/_matrix/client/v3/login/',
    '/_matrix/client/unstable/org.example/login',
    '/_matrix/client/v3/%6Cogin', // Synapse matches the raw path: an encoded letter is another path
    '/_matrix/client/V3/login',
    '/_matrix/client/v3/login/sso/redirect',
  ]) {
    t.notOk(isServedLoginPath(path), path);
  }
});
