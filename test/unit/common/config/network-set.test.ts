import t from 'tap';
import { parseCidr, parseNetwork } from '../../../../src/common/config/cidr.js';
import { NetworkSet } from '../../../../src/common/config/network-set.js';

t.test('membership: IPv4, IPv6, IPv4-mapped; text that is no address is in no network', async (t) => {
  const set = new NetworkSet(['10.0.0.0/8', '192.0.2.7', 'fd00::/8'], parseNetwork, 'Some.Key', 'an address');
  for (const address of ['10.1.2.3', '192.0.2.7', 'fd12::1', '::ffff:10.0.0.1']) t.ok(set.has(address), address);
  for (const address of ['11.0.0.1', '192.0.2.8', 'fe80::1', '', 'localhost', 'unknown', '10.0.0.1:80']) t.notOk(set.has(address), JSON.stringify(address));
});

t.test('a refused entry is a configuration error naming the key', async (t) => {
  t.throws(() => new NetworkSet(['10.0.0.1'], parseCidr, 'Some.Key', 'a CIDR'), {
    code: 'CORP_ERR_CONFIG_INVALID',
    message: 'Some.Key: "10.0.0.1" is not a CIDR',
  });
});
