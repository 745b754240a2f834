import t from 'tap';
import { createLogger } from '../../../src/common/logger.js';

/** Logs `fields` once and returns the parsed line. */
function logged(fields: Record<string, unknown>): Record<string, unknown> {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', component: 'test', destination: { write: (line) => { lines.push(line); } } });
  logger.info(fields, 'message');
  return JSON.parse(lines.join('')) as Record<string, unknown>;
}

/** Every name a secret carries in the code base (options, wire names) and in the configuration. */
const NAMES = [
  'password', 'new_password', 'token', 'accessToken', 'access_token', 'bearerToken', 'metricsBearerToken', 'authorization', 'Authorization',
  'authCredential', 'secret', 'sharedSecret', 'authSharedSecret', 'registrationSharedSecret',
];
const CONFIG_NAMES = ['AuthSharedSecret', 'RegistrationSharedSecret', 'AuthorizationBearerToken', 'MetricsAuthorizationBearerToken', 'AccessToken'];

t.test('every secret name is redacted at the top level and one level down', async (t) => {
  for (const name of [...NAMES, ...CONFIG_NAMES]) {
    const line = logged({ [name]: 'TOP-SECRET', options: { [name]: 'NESTED-SECRET' } });
    t.equal(line[name], '[redacted]', name);
    t.same(line['options'], { [name]: '[redacted]' }, `options.${name}`);
  }
});

t.test('the configuration\'s secrets are redacted when a whole configuration is logged', async (t) => {
  const line = logged({
    config: {
      Matrix: { AuthSharedSecret: 'S1', RegistrationSharedSecret: 'S2', HomeserverDomainName: 'example.com' },
      HttpApi: { AuthorizationBearerToken: 'S3', MetricsAuthorizationBearerToken: 'S6' },
      Corporal: { AccessToken: 'S4', UserID: '@corporal:example.com' },
      PolicyProvider: { AuthorizationBearerToken: 'S5' },
    },
  });
  const text = JSON.stringify(line);
  for (const secret of ['S1', 'S2', 'S3', 'S4', 'S5', 'S6']) t.notMatch(text, `"${secret}"`, secret);
  t.match(text, '"HomeserverDomainName":"example.com"', 'other keys are kept');
  t.match(text, '"UserID":"@corporal:example.com"');
});

t.test('a request\'s Authorization header is redacted', async (t) => {
  const line = logged({ req: { headers: { authorization: 'Bearer syt_x', host: 'h' } } });
  t.same(line['req'], { headers: { authorization: '[redacted]', host: 'h' } });
});
