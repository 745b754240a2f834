import t from 'tap';
import { parseCidr, parseNetwork, PRIVATE_NETWORK_CIDRS } from '../../../../src/common/config/index.js';

t.test('CIDRs Go\'s net.ParseCIDR accepts', async (t) => {
  const rows: Array<[string, string, number, 'ipv4' | 'ipv6']> = [
    ['10.0.0.0/8', '10.0.0.0', 8, 'ipv4'],
    ['0.0.0.0/0', '0.0.0.0', 0, 'ipv4'],
    ['192.168.1.5/24', '192.168.1.5', 24, 'ipv4'],
    ['255.255.255.255/32', '255.255.255.255', 32, 'ipv4'],
    ['::1/128', '::1', 128, 'ipv6'],
    ['fc00::/7', 'fc00::', 7, 'ipv6'],
    ['::/0', '::', 0, 'ipv6'],
    ['::ffff:10.0.0.1/104', '::ffff:10.0.0.1', 104, 'ipv6'],
  ];
  for (const [text, address, prefix, family] of rows) t.same(parseCidr(text), { address, prefix, family }, text);
});

t.test('texts that are not CIDRs', async (t) => {
  for (const text of ['10.0.0.0', '10.0.0.0/', '10.0.0.0/33', '10.0.0/8', '010.0.0.0/8', '10.0.0.0/-1', '10.0.0.0/8/8',
    '::/129', 'fe80::1%eth0/64', 'example.com/8', '/8', '', ' 10.0.0.0/8', '10.0.0.0/ 8', '10.0.0.0/1000']) {
    t.equal(parseCidr(text), null, JSON.stringify(text));
  }
});

t.test('the default whitelist parses', async (t) => {
  for (const cidr of PRIVATE_NETWORK_CIDRS) t.not(parseCidr(cidr), null, cidr);
});

t.test('parseNetwork: a CIDR, or one address as its whole prefix', async (t) => {
  t.same(parseNetwork('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
  t.same(parseNetwork('192.0.2.10'), { address: '192.0.2.10', prefix: 32, family: 'ipv4' });
  t.same(parseNetwork('::1'), { address: '::1', prefix: 128, family: 'ipv6' });
  for (const text of ['10.0.0.0/33', '010.0.0.1', 'fe80::1%eth0', 'proxy.example', '', '1.2.3.4:80']) t.equal(parseNetwork(text), null, JSON.stringify(text));
});
