import t from 'tap';
import { forwardedForOf, TrustedProxies } from '../../../../src/gateway/upstream/forwarded-for.js';
import { buildUpstreamRequestHeaders } from '../../../../src/gateway/upstream/request-headers.js';

/** `[name, value]` pairs of a flat header list. */
function pairs(flat: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

/** The default: loopback, private and link-local peers are proxies. */
const privateProxies = new TrustedProxies(null);

t.test('end-to-end headers pass in order; hop-by-hop and framing headers do not', async (t) => {
  const received = [
    'host', 'hs.example', 'authorization', 'Bearer t', 'connection', 'keep-alive', 'keep-alive', 'timeout=5',
    'proxy-authorization', 'Basic x', 'proxy-connection', 'close', 'te', 'trailers', 'trailer', 'x', 'transfer-encoding', 'chunked',
    'upgrade', 'websocket', 'expect', '100-continue', 'content-length', '12', 'content-type', 'application/json', 'x-a', '1', 'x-a', '2',
  ];
  t.same(pairs(buildUpstreamRequestHeaders(received, '10.1.2.3', privateProxies, '12')), [
    ['host', 'hs.example'], ['authorization', 'Bearer t'], ['content-type', 'application/json'], ['x-a', '1'], ['x-a', '2'],
    ['x-forwarded-for', '10.1.2.3'], ['x-forwarded-host', 'hs.example'], ['content-length', '12'],
  ]);
});

t.test('headers named in Connection are dropped, except those the gateway decides on', async (t) => {
  const received = ['host', 'h', 'connection', 'X-Secret, keep-alive', 'connection', 'authorization,content-type, x-forwarded-for', 'x-secret', 's', 'authorization', 'Bearer t', 'content-type', 'text/plain'];
  t.same(pairs(buildUpstreamRequestHeaders(received, '1.1.1.1', privateProxies, null)), [
    ['host', 'h'], ['authorization', 'Bearer t'], ['content-type', 'text/plain'],
    ['x-forwarded-for', '1.1.1.1'], ['x-forwarded-host', 'h'],
  ]);
});

const FORWARDED = ['host', 'first', 'host', 'second', 'x-forwarded-for', '1.1.1.1, 2.2.2.2', 'x-forwarded-for', '3.3.3.3',
  'x-forwarded-proto', 'https', 'x-forwarded-proto', 'http', 'x-forwarded-host', 'public.example'];

t.test('from a trusted proxy: the chain is read up to the client, incoming proto and host are kept, Host only once', async (t) => {
  t.same(pairs(buildUpstreamRequestHeaders(FORWARDED, '::1', privateProxies, null)), [
    ['host', 'first'], ['x-forwarded-proto', 'https'], ['x-forwarded-host', 'public.example'],
    // 3.3.3.3 is not a proxy: it is the client, and what it claims (1.1.1.1, 2.2.2.2) is dropped.
    ['x-forwarded-for', '3.3.3.3, ::1'],
  ]);
  const everyone = new TrustedProxies(['0.0.0.0/0', '::/0']);
  t.same(pairs(buildUpstreamRequestHeaders(FORWARDED, '::1', everyone, null)).find(([name]) => name === 'x-forwarded-for'),
    ['x-forwarded-for', '1.1.1.1, 2.2.2.2, 3.3.3.3, ::1'], 'trusting everyone reads the chain as matrix-corporal did');
});

t.test('from any other peer: the peer is the client; X-Forwarded-Proto and -Host are kept (a TLS load balancer not listed)', async (t) => {
  t.same(pairs(buildUpstreamRequestHeaders(FORWARDED, '198.51.100.7', privateProxies, null)), [
    ['host', 'first'], ['x-forwarded-proto', 'https'], ['x-forwarded-host', 'public.example'], ['x-forwarded-for', '198.51.100.7'],
  ]);
  t.same(pairs(buildUpstreamRequestHeaders(FORWARDED, '127.0.0.1', new TrustedProxies([]), null)), [
    ['host', 'first'], ['x-forwarded-proto', 'https'], ['x-forwarded-host', 'public.example'], ['x-forwarded-for', '127.0.0.1'],
  ], 'TrustedProxies [] trusts not even loopback');
});

t.test('no Host: no X-Forwarded-Host is invented', async (t) => {
  t.same(pairs(buildUpstreamRequestHeaders([], '1.2.3.4', privateProxies, null)), [['x-forwarded-for', '1.2.3.4']]);
});

t.test('no X-Forwarded-Proto from the proxy: none is invented (Synapse then assumes https, as behind matrix-corporal)', async (t) => {
  // Told `http`, Synapse (x_forwarded) redirected its SSO endpoint to public_baseurl for ever (parity review 25, finding 1).
  for (const peer of ['10.0.0.2', '198.51.100.7']) {
    const sent = pairs(buildUpstreamRequestHeaders(['host', 'public.example', 'x-forwarded-for', '203.0.113.9'], peer, privateProxies, null));
    t.notOk(sent.some(([name]) => name === 'x-forwarded-proto'), `from ${peer}`);
    t.same(sent.find(([name]) => name === 'x-forwarded-host'), ['x-forwarded-host', 'public.example']);
  }
});

t.test('the X-Forwarded-For sent upstream is the one hook services are shown (forwardedForOf)', async (t) => {
  const trusted = new TrustedProxies(null);
  const cases: Array<[string[], string]> = [
    [['host', 'hs', 'x-forwarded-for', '6.6.6.6, 203.0.113.9'], '127.0.0.1'],
    [['x-forwarded-for', '6.6.6.6', 'x-forwarded-for', '10.0.0.2, unknown, 10.0.0.3'], '10.0.0.1'],
    [['x-forwarded-for', '203.0.113.9'], '198.51.100.7'],
    [['host', 'hs'], '127.0.0.1'],
  ];
  for (const [received, peer] of cases) {
    const sent = buildUpstreamRequestHeaders(received, peer, trusted, null);
    t.equal(sent[sent.indexOf('x-forwarded-for') + 1], forwardedForOf(received, peer, trusted), `${JSON.stringify(received)} from ${peer}`);
  }
});

t.test('Forwarded and X-Real-IP pass from a trusted proxy only', async (t) => {
  const received = ['host', 'h', 'forwarded', 'for=6.6.6.6', 'x-real-ip', '6.6.6.6', 'x-b', '1'];
  t.same(pairs(buildUpstreamRequestHeaders(received, '203.0.113.9', privateProxies, null)), [
    ['host', 'h'], ['x-b', '1'], ['x-forwarded-for', '203.0.113.9'], ['x-forwarded-host', 'h'],
  ], 'a client names no address but its own');
  t.same(pairs(buildUpstreamRequestHeaders(received, '10.0.0.2', privateProxies, null)), [
    ['host', 'h'], ['forwarded', 'for=6.6.6.6'], ['x-real-ip', '6.6.6.6'], ['x-b', '1'], ['x-forwarded-for', '10.0.0.2'], ['x-forwarded-host', 'h'],
  ], 'a trusted proxy passes them on');
  t.same(pairs(buildUpstreamRequestHeaders([...received, 'connection', 'x-real-ip'], '10.0.0.2', privateProxies, null)), [
    ['host', 'h'], ['forwarded', 'for=6.6.6.6'], ['x-b', '1'], ['x-forwarded-for', '10.0.0.2'], ['x-forwarded-host', 'h'],
  ], 'unless its Connection header names them');
});
