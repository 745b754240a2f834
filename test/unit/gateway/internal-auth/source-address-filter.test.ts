import t from 'tap';
import { createSourceAddressFilter } from '../../../../src/gateway/internal-auth/source-address-filter.js';

const ALWAYS = ['127.0.0.1', '127.255.0.9', '::1', '169.254.1.1', 'fe80::1', '::ffff:127.0.0.1', '0:0:0:0:0:ffff:7f00:1'];
const PRIVATE = ['10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', 'fc00::1', 'fd12:3456::1', '::ffff:10.0.0.1'];
const PUBLIC = ['8.8.8.8', '172.32.0.1', '192.169.0.1', '2001:db8::1', '::ffff:8.8.8.8', '11.0.0.1'];
const NOT_ADDRESSES = ['', 'localhost', '127.0.0.1:80', '1.2.3', '999.1.1.1', 'X-Forwarded-For'];

t.test('null: private and local ranges', async (t) => {
  const allowed = createSourceAddressFilter({ Enabled: true, IPNetworkWhitelist: null });
  for (const address of [...ALWAYS, ...PRIVATE]) t.ok(allowed(address, false), address);
  for (const address of [...PUBLIC, ...NOT_ADDRESSES]) t.notOk(allowed(address, false), address || '(empty)');
});

t.test('a list: those networks, plus loopback and link-local always', async (t) => {
  const allowed = createSourceAddressFilter({ Enabled: true, IPNetworkWhitelist: ['203.0.113.0/24', '2001:db8::/32', '10.9.9.9/8'] });
  for (const address of [...ALWAYS, '203.0.113.7', '2001:db8::1', '10.200.0.1', '::ffff:203.0.113.7']) t.ok(allowed(address, false), address);
  for (const address of ['192.168.1.1', 'fc00::1', '203.0.114.1', '8.8.8.8', ...NOT_ADDRESSES]) t.notOk(allowed(address, false), address || '(empty)');
});

t.test('an empty list: everyone (but never text that is not an address)', async (t) => {
  const allowed = createSourceAddressFilter({ Enabled: true, IPNetworkWhitelist: [] });
  for (const address of [...ALWAYS, ...PRIVATE, ...PUBLIC]) t.ok(allowed(address, false), address);
  for (const address of NOT_ADDRESSES) t.notOk(allowed(address, false), address || '(empty)');
});

t.test('a request through a reverse proxy: its real client is unknown, so only an empty list lets it in', async (t) => {
  for (const list of [null, ['203.0.113.0/24']]) {
    const allowed = createSourceAddressFilter({ Enabled: true, IPNetworkWhitelist: list });
    for (const address of ['127.0.0.1', '::1', '10.1.2.3', '203.0.113.7']) t.notOk(allowed(address, true), `${JSON.stringify(list)}: ${address} forwarded`);
  }
  const everyone = createSourceAddressFilter({ Enabled: true, IPNetworkWhitelist: [] });
  t.ok(everyone('127.0.0.1', true), 'every address allowed: forwarded too');
  t.notOk(everyone('localhost', true));
});

t.test('an entry that is not a CIDR is a configuration error', async (t) => {
  t.throws(() => createSourceAddressFilter({ Enabled: true, IPNetworkWhitelist: ['10.0.0.1'] }), { code: 'CORP_ERR_CONFIG_INVALID' });
  t.throws(() => createSourceAddressFilter({ Enabled: true, IPNetworkWhitelist: ['10.0.0.0/33'] }), { code: 'CORP_ERR_CONFIG_INVALID' });
});
