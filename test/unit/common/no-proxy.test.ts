/**
 * NO_PROXY as Go's `golang.org/x/net/http/httpproxy` reads it (`config.init`, `useProxy`): each row
 * is a NO_PROXY value, a request URL and whether Go sent that request directly or through the proxy.
 */
import t from 'tap';
import { bypassesProxy, parseNoProxy } from '../../../src/common/no-proxy.js';

type Way = 'direct' | 'proxied';

const TABLE: [noProxy: string, url: string, way: Way, why: string][] = [
  ['', 'http://service.example/', 'proxied', 'nothing listed'],
  ['*', 'http://service.example/', 'direct', '`*` alone: nothing is proxied'],
  ['a.example, *', 'https://service.example/', 'direct', '`*` as any entry'],
  ['a.example b.example\tc.example', 'http://b.example/', 'direct', 'white space separates entries too'],
  ['a.example,,  ,c.example', 'http://c.example/', 'direct', 'empty entries are skipped'],
  // Domains
  ['foo.com', 'http://foo.com/', 'direct', 'a name covers itself'],
  ['foo.com', 'http://bar.foo.com/', 'direct', 'a name covers its subdomains'],
  ['foo.com', 'http://a.b.foo.com:8080/', 'direct', 'on any port'],
  ['foo.com', 'http://xfoo.com/', 'proxied', 'a suffix that is not a subdomain'],
  ['foo.com', 'http://foo.com.evil.example/', 'proxied', 'a prefix'],
  ['.foo.com', 'http://foo.com/', 'proxied', 'a leading dot: subdomains only'],
  ['.foo.com', 'http://bar.foo.com/', 'direct', 'a leading dot covers subdomains'],
  ['*.foo.com', 'http://foo.com/', 'proxied', '`*.`: subdomains only'],
  ['*.foo.com', 'https://a.b.foo.com/', 'direct', '`*.` covers subdomains'],
  ['FOO.Com', 'http://Bar.FOO.com/', 'direct', 'names compare case-insensitively'],
  ['foo.com:8080', 'http://foo.com:8080/', 'direct', 'a port restricts the entry'],
  ['foo.com:8080', 'http://foo.com/', 'proxied', 'another port'],
  ['foo.com:80', 'http://foo.com/', 'direct', 'the scheme default port (http)'],
  ['foo.com:443', 'https://sub.foo.com/', 'direct', 'the scheme default port (https)'],
  ['foo.com:443', 'http://foo.com/', 'proxied', 'http defaults to 80'],
  ['.foo.com:8443', 'https://a.foo.com:8443/', 'direct', 'a leading dot with a port'],
  ['bücher.example', 'http://shop.xn--bcher-kva.example/', 'direct', 'a non-ASCII entry is IDNA-encoded as the host is'],
  ['2.3', 'http://10.1.2.3/', 'proxied', 'a name never covers an IP host (Go 1.26 x/net)'],
  ['.2.3', 'http://10.1.2.3/', 'proxied', 'nor a subdomain entry'],
  // IP addresses
  ['10.1.2.3', 'http://10.1.2.3:9000/', 'direct', 'an IPv4 address, any port'],
  ['10.1.2.3', 'http://10.1.2.4/', 'proxied', 'another address'],
  ['10.1.2.3:80', 'http://10.1.2.3/', 'direct', 'an address with the default port'],
  ['10.1.2.3:80', 'http://10.1.2.3:8080/', 'proxied', 'an address with another port'],
  ['fd00::1', 'http://[fd00::1]:8448/', 'direct', 'a bare IPv6 address'],
  ['fd00:0:0:0:0:0:0:1', 'http://[FD00::1]/', 'direct', 'IPv6 compared as addresses, not text'],
  ['[fd00::2]:8448', 'http://[fd00::2]:8448/', 'direct', 'a bracketed IPv6 address with a port'],
  ['[fd00::2]:8448', 'http://[fd00::2]:8449/', 'proxied', 'another port'],
  ['[fd00::3]', 'http://[fd00::3]/', 'proxied', 'brackets without a port: a name to Go, covering nothing'],
  ['10.1.2.3', 'http://[::ffff:10.1.2.3]/', 'direct', 'an IPv4-mapped IPv6 host is the IPv4 address'],
  // CIDR ranges
  ['10.0.0.0/8', 'http://10.200.0.1/', 'direct', 'an IPv4 CIDR'],
  ['10.0.0.0/8', 'http://11.0.0.1/', 'proxied', 'outside it'],
  ['10.0.0.0/8', 'http://ten.example/', 'proxied', 'a name is never resolved'],
  ['10.9.9.9/8', 'http://10.1.1.1/', 'direct', 'host bits in a CIDR are ignored'],
  ['192.168.1.0/24', 'https://192.168.1.77:8443/', 'direct', 'any port'],
  ['10.0.0.0/8', 'http://[::ffff:10.1.2.3]/', 'direct', 'an IPv4-mapped host in an IPv4 CIDR'],
  ['fd00::/8', 'http://[fd12:3456::1]/', 'direct', 'an IPv6 CIDR'],
  ['fd00::/8', 'http://[fe80::1]/', 'proxied', 'outside it'],
  ['::/0', 'http://10.1.2.3/', 'proxied', 'an IPv6 network never holds an IPv4 address (Go)'],
  ['::/0', 'http://[2001:db8::1]/', 'direct', 'but every IPv6 one'],
  // Never proxied
  ['', 'http://localhost:8080/', 'direct', 'localhost'],
  ['', 'http://127.0.0.1/', 'direct', '127.0.0.1'],
  ['', 'http://127.0.0.2:8080/', 'direct', 'any 127.0.0.0/8 address'],
  ['', 'https://127.255.255.254/', 'direct', 'the end of 127.0.0.0/8'],
  ['', 'http://[::1]:8080/', 'direct', '::1'],
  ['', 'http://[::ffff:127.0.0.2]/', 'direct', 'IPv4-mapped loopback'],
  ['', 'http://foo.localhost/', 'proxied', 'only the name localhost itself'],
  ['', 'http://0.0.0.0/', 'proxied', '0.0.0.0 is not loopback'],
];

t.test('NO_PROXY entries against request URLs, as Go decided', async (t) => {
  for (const [noProxy, url, way, why] of TABLE) {
    const got: Way = bypassesProxy(parseNoProxy(noProxy), new URL(url)) ? 'direct' : 'proxied';
    t.equal(got, way, `${JSON.stringify(noProxy)} × ${url}: ${why}`);
  }
});

t.test('entries Go ignores match nothing and do not throw', async (t) => {
  const list = parseNoProxy(':80, [, ], foo.com:80:90, [fd00::1]x:80, 10.0.0.0/33, 10.0.0.0/x');
  t.same(list.networks, []);
  t.same(list.addresses, []);
  for (const url of ['http://foo.com/', 'http://foo.com:80/', 'http://[fd00::1]:80/', 'http://10.0.0.1/']) {
    t.equal(bypassesProxy(list, new URL(url)), false, url);
  }
});
