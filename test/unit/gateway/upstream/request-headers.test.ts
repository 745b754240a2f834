import t from 'tap';
import { buildUpstreamRequestHeaders } from '../../../../src/gateway/upstream/request-headers.js';

/** `[name, value]` pairs of a flat header list. */
function pairs(flat: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

t.test('end-to-end headers pass in order; hop-by-hop and framing headers do not', async (t) => {
  const received = [
    'host', 'hs.example', 'authorization', 'Bearer t', 'connection', 'keep-alive', 'keep-alive', 'timeout=5',
    'proxy-authorization', 'Basic x', 'proxy-connection', 'close', 'te', 'trailers', 'trailer', 'x', 'transfer-encoding', 'chunked',
    'upgrade', 'websocket', 'expect', '100-continue', 'content-length', '12', 'content-type', 'application/json', 'x-a', '1', 'x-a', '2',
  ];
  t.same(pairs(buildUpstreamRequestHeaders(received, '10.1.2.3', '12')), [
    ['host', 'hs.example'], ['authorization', 'Bearer t'], ['content-type', 'application/json'], ['x-a', '1'], ['x-a', '2'],
    ['x-forwarded-for', '10.1.2.3'], ['x-forwarded-proto', 'http'], ['x-forwarded-host', 'hs.example'], ['content-length', '12'],
  ]);
});

t.test('headers named in Connection are dropped, except those the gateway decides on', async (t) => {
  const received = ['host', 'h', 'connection', 'X-Secret, keep-alive', 'connection', 'authorization,content-type, x-forwarded-for', 'x-secret', 's', 'authorization', 'Bearer t', 'content-type', 'text/plain'];
  t.same(pairs(buildUpstreamRequestHeaders(received, '1.1.1.1', null)), [
    ['host', 'h'], ['authorization', 'Bearer t'], ['content-type', 'text/plain'],
    ['x-forwarded-for', '1.1.1.1'], ['x-forwarded-proto', 'http'], ['x-forwarded-host', 'h'],
  ]);
});

t.test('X-Forwarded-*: the chain is extended, incoming proto and host are kept, Host only once', async (t) => {
  const received = ['host', 'first', 'host', 'second', 'x-forwarded-for', '1.1.1.1, 2.2.2.2', 'x-forwarded-for', '3.3.3.3',
    'x-forwarded-proto', 'https', 'x-forwarded-proto', 'http', 'x-forwarded-host', 'public.example'];
  t.same(pairs(buildUpstreamRequestHeaders(received, '::1', null)), [
    ['host', 'first'], ['x-forwarded-proto', 'https'], ['x-forwarded-host', 'public.example'],
    ['x-forwarded-for', '1.1.1.1, 2.2.2.2, 3.3.3.3, ::1'],
  ]);
});

t.test('no Host: no X-Forwarded-Host is invented', async (t) => {
  t.same(pairs(buildUpstreamRequestHeaders([], '1.2.3.4', null)), [['x-forwarded-for', '1.2.3.4'], ['x-forwarded-proto', 'http']]);
});
