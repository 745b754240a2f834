import t from 'tap';
import { validateProviderConfig } from '../../../../src/common/config/index.js';
import { providerConfigWarnings } from '../../../../src/common/config/provider-rules.js';
import { readFixtureRows } from '../../../fixtures/config/fixture-files.js';

interface ProviderRow {
  name: string;
  provider: Record<string, unknown>;
  errors: Array<{ path: string; message: string }>;
}

t.test('provider-rules.json', async (t) => {
  for (const row of readFixtureRows<ProviderRow>('provider-rules.json')) {
    t.same(validateProviderConfig(row.provider), row.errors, row.name);
  }
});

t.test('keys a provider does not read are warned about, by their exact spelling', async (t) => {
  t.same(providerConfigWarnings({ Type: 'static_file', Path: 'p.json', path: 'q.json', CachePath: 'c' }), [
    { path: 'PolicyProvider.path', message: 'PolicyProvider.path is not read by the static_file provider; it is ignored (PolicyProvider keys are case-sensitive)' },
    { path: 'PolicyProvider.CachePath', message: 'PolicyProvider.CachePath is not read by the static_file provider; it is ignored (PolicyProvider keys are case-sensitive)' },
  ]);
  t.same(providerConfigWarnings({ Type: 'last_seen_store_policy', CachePath: 'c' }), []);
  t.same(providerConfigWarnings({ Type: 'constructor' }), [], 'an unknown type has no key list');
});

t.test('a required key missing under another spelling is named: PolicyProvider keys are case-sensitive', async (t) => {
  t.same(validateProviderConfig({ Type: 'last_seen_store_policy', cachePath: 'c.json', CACHEPATH: 'd.json' }), [
    { path: 'PolicyProvider.CachePath', message: 'Last Seen Store Policy provider requires a CachePath (found `cachePath`, `CACHEPATH`: PolicyProvider keys are case-sensitive)' },
  ]);
  t.same(validateProviderConfig({ Type: 'http', URI: 'http://127.0.0.1/p', AuthorizationBearerToken: null, CachePath: null, ReloadIntervalSeconds: null, TimeoutMilliseconds: null }), [
    { path: 'PolicyProvider.Uri', message: 'HTTP provider is missing a required configuration key: Uri (found `URI`: PolicyProvider keys are case-sensitive)' },
  ]);
});
