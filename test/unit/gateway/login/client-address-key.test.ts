import t from 'tap';
import { clientAddressKey } from '../../../../src/gateway/login/client-address-key.js';
import { clientAddressOf, TrustedProxies } from '../../../../src/gateway/upstream/forwarded-for.js';
import { countedClientAddress } from '../../../../src/gateway/login/check-origin.js';

t.test('IPv4 is its own key; IPv6 is keyed by its /64, whatever the spelling', async (t) => {
  t.equal(clientAddressKey('203.0.113.66'), '203.0.113.66');
  const sameNetwork = ['2001:db8:1:2::1', '2001:0db8:0001:0002:ffff:ffff:ffff:ffff', '2001:db8:1:2:0:0:0:99', '2001:db8:1:2::5.6.7.8'];
  t.same(new Set(sameNetwork.map(clientAddressKey)), new Set(['2001:db8:1:2::/64']));
  t.equal(clientAddressKey('2001:db8:1:3::1'), '2001:db8:1:3::/64', 'the next /64 is another client');
  t.equal(clientAddressKey('::ffff:198.51.100.7'), '198.51.100.7', 'an IPv4-mapped address is the IPv4 it carries');
  t.equal(clientAddressKey('::1'), '0:0:0:0::/64');
  t.equal(clientAddressKey('not-an-address'), 'not-an-address');
});

t.test('the client address is the first entry of the chain sent upstream', async (t) => {
  const defaults = new TrustedProxies(null);
  t.equal(clientAddressOf(['x-forwarded-for', '6.6.6.6, 203.0.113.9'], '127.0.0.1', defaults), '203.0.113.9');
  t.equal(clientAddressOf(['x-forwarded-for', '6.6.6.6'], '198.51.100.7', defaults), '198.51.100.7', 'an untrusted peer is the client');
  t.equal(clientAddressOf([], '127.0.0.1', defaults), '127.0.0.1');
});

t.test('checks are not counted against an address that is itself a trusted proxy\'s', async (t) => {
  const defaults = new TrustedProxies(null);
  t.equal(countedClientAddress(['x-forwarded-for', '203.0.113.9'], '127.0.0.1', defaults), '203.0.113.9');
  t.equal(countedClientAddress([], '198.51.100.7', defaults), '198.51.100.7', 'a direct client');
  t.equal(countedClientAddress([], '127.0.0.1', defaults), null, 'a proxy that did not say whose request it passes on');
  t.equal(countedClientAddress(['x-forwarded-for', '10.0.0.5'], '127.0.0.1', defaults), null, 'a client on a trusted network (it could claim anything)');
  t.equal(countedClientAddress([], '127.0.0.1', new TrustedProxies([])), '127.0.0.1', 'nobody trusted: the peer is the client');
});
