import t from 'tap';
import { forwardedFor, forwardedForOf, normalizeAddress, TrustedProxies } from '../../../../src/gateway/upstream/forwarded-for.js';

const defaults = new TrustedProxies(null);

t.test('the default trusts loopback, private and link-local networks, IPv4-mapped included', async (t) => {
  for (const address of ['127.0.0.1', '127.9.9.9', '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.0.1', '::1', 'fe80::1', 'fd00::1', '::ffff:10.0.0.1']) {
    t.ok(defaults.isTrusted(address), address);
  }
  for (const address of ['8.8.8.8', '172.32.0.1', '198.51.100.1', '2001:db8::1', '::ffff:8.8.8.8', '', 'localhost', 'unknown']) {
    t.notOk(defaults.isTrusted(address), JSON.stringify(address));
  }
});

t.test('a configured list: CIDRs and single addresses; [] trusts nobody', async (t) => {
  const list = new TrustedProxies(['203.0.113.0/24', '192.0.2.10', '2001:db8::/32']);
  t.ok(list.isTrusted('203.0.113.200'));
  t.ok(list.isTrusted('192.0.2.10'));
  t.notOk(list.isTrusted('192.0.2.11'));
  t.ok(list.isTrusted('2001:db8:1::5'));
  t.notOk(list.isTrusted('127.0.0.1'), 'loopback is trusted only when listed');
  const none = new TrustedProxies([]);
  t.notOk(none.isTrusted('127.0.0.1'));
  t.throws(() => new TrustedProxies(['10.0.0.0/33']));
  t.throws(() => new TrustedProxies(['proxy.example']));
});

t.test('answers stay right when the cache fills and is cleared', async (t) => {
  const list = new TrustedProxies(['10.0.0.0/8']);
  for (let i = 0; i < 5000; i++) list.isTrusted(`198.51.${i >> 8}.${i & 255}`);
  t.ok(list.isTrusted('10.1.2.3'));
  t.notOk(list.isTrusted('198.51.0.1'));
});

t.test('an untrusted peer is the client: what it claims is ignored', async (t) => {
  t.equal(forwardedFor('1.2.3.4', '198.51.100.7', defaults), '198.51.100.7');
  t.equal(forwardedFor(null, '198.51.100.7', defaults), '198.51.100.7');
  t.equal(forwardedFor(null, '127.0.0.1', defaults), '127.0.0.1', 'a proxy that sent no header is the client');
});

t.test('through trusted proxies the client is the rightmost untrusted entry', async (t) => {
  // nginx with $proxy_add_x_forwarded_for: the client's own claim, then nginx's view of it.
  t.equal(forwardedFor('6.6.6.6, 203.0.113.9', '127.0.0.1', defaults), '203.0.113.9, 127.0.0.1');
  // nginx with `proxy_set_header X-Forwarded-For $remote_addr` (Synapse's documented setup).
  t.equal(forwardedFor('203.0.113.9', '127.0.0.1', defaults), '203.0.113.9, 127.0.0.1');
  // Two proxy hops on private networks.
  t.equal(forwardedFor('6.6.6.6, 203.0.113.9, 10.0.0.2', '172.17.0.1', defaults), '203.0.113.9, 10.0.0.2, 172.17.0.1');
  // Every hop trusted: the leftmost is the client.
  t.equal(forwardedFor('10.0.0.5, 10.0.0.2', '127.0.0.1', defaults), '10.0.0.5, 10.0.0.2, 127.0.0.1');
});

t.test('odd entries: spaces, empties, ports, brackets; junk stops the walk at the hop that sent it', async (t) => {
  t.equal(forwardedFor(' 203.0.113.9:5555 ,, ', '127.0.0.1', defaults), '203.0.113.9, 127.0.0.1');
  t.equal(forwardedFor('[2001:db8::7]:443', '::1', defaults), '2001:db8::7, ::1');
  t.equal(forwardedFor('2001:db8::7', '::1', defaults), '2001:db8::7, ::1');
  t.equal(forwardedFor('203.0.113.9, unknown', '127.0.0.1', defaults), '127.0.0.1', 'a trusted hop that sent junk is the client');
  t.equal(forwardedFor('203.0.113.9, unknown, 10.0.0.3', '127.0.0.1', defaults), '10.0.0.3, 127.0.0.1');
  t.equal(forwardedFor('', '127.0.0.1', defaults), '127.0.0.1');
});

t.test('a loopback entry is never the client: nobody can claim Corporal\'s own address', async (t) => {
  // A client on a private network (trusted by default) claiming 127.0.0.1 is recorded as itself.
  t.equal(forwardedFor('127.0.0.1', '10.0.0.7', defaults), '10.0.0.7');
  t.equal(forwardedFor('127.0.0.1', '::ffff:10.0.0.7', defaults), '::ffff:10.0.0.7');
  for (const claim of ['127.0.0.1', '127.8.9.10:443', '::1', '[::1]:80', '::ffff:127.0.0.1', '::ffff:7f00:1', '0:0:0:0:0:0:0:1']) {
    t.equal(forwardedFor(claim, '10.0.0.7', defaults), '10.0.0.7', claim);
  }
  // Through a local nginx that appends: the LAN client that sent the claim is the client.
  t.equal(forwardedFor('127.0.0.1, 10.0.0.7', '127.0.0.1', defaults), '10.0.0.7, 127.0.0.1');
  // Two proxies on one host (cloudflared or HAProxy in front of a local nginx that appends): the
  // loopback hop is walked over, and the client is the address the first proxy saw.
  t.equal(forwardedFor('203.0.113.9, 127.0.0.1', '127.0.0.1', defaults), '203.0.113.9, 127.0.0.1, 127.0.0.1');
  t.equal(forwardedFor('6.6.6.6, 203.0.113.9, ::1, 127.0.0.1', '127.0.0.1', defaults), '203.0.113.9, ::1, 127.0.0.1, 127.0.0.1');
  // Loopback claims to the left of such a chain, or junk behind one, fall back to the nearest real hop.
  t.equal(forwardedFor('127.0.0.1, 127.0.0.1', '10.0.0.7', defaults), '10.0.0.7');
  t.equal(forwardedFor('unknown, 127.0.0.1', '10.0.0.7', defaults), '10.0.0.7');
  t.equal(forwardedFor('127.0.0.1, 10.0.0.3, 127.0.0.1', '10.0.0.7', defaults), '10.0.0.3, 127.0.0.1, 10.0.0.7');
  // A process on the local proxy's own host: the proxy's address, as before.
  t.equal(forwardedFor('127.0.0.1', '127.0.0.1', defaults), '127.0.0.1');
  // Loopback listed explicitly changes nothing: it is never taken from the header.
  t.equal(forwardedFor('127.0.0.1', '192.0.2.10', new TrustedProxies(['192.0.2.10', '127.0.0.1'])), '192.0.2.10');
  // Addresses that only look like loopback are walked as usual.
  t.equal(forwardedFor('::127.0.0.1', '10.0.0.7', defaults), '::127.0.0.1, 10.0.0.7');
  t.equal(forwardedFor('128.0.0.1', '10.0.0.7', defaults), '128.0.0.1, 10.0.0.7');
});

t.test('the walk is bounded: past 16 trusted hops the last one examined is the client', async (t) => {
  const hops = Array.from({ length: 40 }, (_, i) => `10.0.0.${i + 1}`);
  const sent = forwardedFor(['6.6.6.6', ...hops].join(', '), '127.0.0.1', defaults).split(', ');
  t.equal(sent.length, 17);
  t.equal(sent[0], '10.0.0.25');
  t.notOk(sent.includes('6.6.6.6'));
});

t.test('empty entries count toward the bound: a header of commas alone reads 64 entries at most', async (t) => {
  t.equal(forwardedFor(`6.6.6.6${','.repeat(100)}`, '127.0.0.1', defaults), '127.0.0.1', 'the claim behind 100 empty entries is never reached');
  t.equal(forwardedFor(`203.0.113.9${','.repeat(50)}`, '127.0.0.1', defaults), '203.0.113.9, 127.0.0.1', 'within the bound it is');
});

t.test('a private client that reaches the gateway directly is taken for a proxy (the documented limit of the default)', async (t) => {
  t.equal(forwardedFor('6.6.6.6', '10.1.2.3', defaults), '6.6.6.6, 10.1.2.3');
  t.equal(forwardedFor('6.6.6.6', '10.1.2.3', new TrustedProxies(['10.0.0.5'])), '10.1.2.3', 'listing only the proxy closes it');
});

t.test('normalizeAddress', async (t) => {
  t.equal(normalizeAddress('1.2.3.4'), '1.2.3.4');
  t.equal(normalizeAddress('1.2.3.4:80'), '1.2.3.4');
  t.equal(normalizeAddress('[::1]'), '::1');
  t.equal(normalizeAddress('[::1]:8080'), '::1');
  t.equal(normalizeAddress('::ffff:1.2.3.4'), '::ffff:1.2.3.4');
  for (const junk of ['1.2.3.4:', '1.2.3.4:x', '[::1', '[::1]x', '[1.2.3.4]', 'fe80::1%eth0', 'example.org', '_hidden', '01.2.3.4', '1.2.3.4:123456']) {
    t.equal(normalizeAddress(junk), null, junk);
  }
});

t.test('from a request\'s headers: every X-Forwarded-For line counts, in order', async (t) => {
  const headers = ['host', 'hs', 'x-forwarded-for', '6.6.6.6', 'accept', '*/*', 'x-forwarded-for', '203.0.113.9, 10.0.0.2'];
  t.equal(forwardedForOf(headers, '127.0.0.1', defaults), '203.0.113.9, 10.0.0.2, 127.0.0.1');
  t.equal(forwardedForOf(headers, '198.51.100.7', defaults), '198.51.100.7', 'an untrusted peer\'s lines are ignored');
  t.equal(forwardedForOf(['host', 'hs'], '127.0.0.1', defaults), '127.0.0.1', 'no line: the peer');
});
