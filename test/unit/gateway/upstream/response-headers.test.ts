import t from 'tap';
import { filterResponseHeaders, parseContentLength } from '../../../../src/gateway/upstream/response-headers.js';

const raw = (...items: string[]): Buffer[] => items.map((item) => Buffer.from(item, 'latin1'));
const text = (flat: Buffer[]): string[] => flat.map((item) => item.toString('latin1'));

t.test('the client gets end-to-end headers with their original bytes; uWS writes the framing', async (t) => {
  const head = filterResponseHeaders(raw(
    'Content-Type', 'application/json', 'Content-Length', '42', 'Date', 'Mon, 01 Jan 2024 00:00:00 GMT',
    'Connection', 'keep-alive, X-Conn-Only', 'Keep-Alive', 'timeout=5', 'X-Conn-Only', '1', 'Transfer-Encoding', 'chunked',
    'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Proxy-Authenticate', 'Basic', 'Upgrade', 'h2c', 'Trailer', 'x', 'TE', 'trailers',
    'X-Bytes', '\u00c3\u00a9',
  ));
  t.same(text(head.headers), ['Content-Type', 'application/json', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'X-Bytes', '\u00c3\u00a9']);
  t.equal(head.contentLength?.toString('latin1'), '42');
});

t.test('the first Content-Length is the one reported', async (t) => {
  t.equal(filterResponseHeaders(raw('content-length', '5', 'content-length', '5')).contentLength?.toString(), '5');
  t.equal(filterResponseHeaders(raw('x', 'y')).contentLength, null);
});

t.test('parseContentLength accepts plain decimal integers only', async (t) => {
  const rows: Array<[string | null, number | null]> = [
    ['0', 0], ['42', 42], [' 42 ', 42], ['', null], ['-1', null], ['4.2', null], ['0x10', null], ['1e3', null],
    ['9999999999999999', null], [null, null],
  ];
  for (const [input, expected] of rows) t.equal(parseContentLength(input), expected, JSON.stringify(input));
  t.equal(parseContentLength(Buffer.from('123')), 123);
});
