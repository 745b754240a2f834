import t from 'tap';
import { exceedsUpstreamHeadLimit, UPSTREAM_HEAD_LIMIT_BYTES } from '../../../../src/gateway/upstream/header-section.js';

const HOST = 'synapse:8008';
/** The head undici writes for `GET /p` with these headers, as Twisted counts it (lines without CRLF). */
function twistedCount(headers: readonly string[], chunked = false, method = 'GET'): number {
  const lines = [`${method} /p HTTP/1.1`, 'connection: keep-alive', ...(chunked ? ['transfer-encoding: chunked'] : [])];
  if (!headers.includes('host')) lines.push('host: synapse:8008');
  for (let i = 0; i < headers.length; i += 2) lines.push(`${headers[i]}: ${headers[i + 1]}`);
  return lines.reduce((sum, line) => sum + line.length, 0);
}

t.test('a head of exactly the limit passes, one byte more does not', async (t) => {
  const fixed = twistedCount(['host', 'hs', 'x-pad', '']);
  const atLimit = ['host', 'hs', 'x-pad', 'p'.repeat(UPSTREAM_HEAD_LIMIT_BYTES - fixed)];
  t.equal(twistedCount(atLimit), UPSTREAM_HEAD_LIMIT_BYTES);
  t.equal(exceedsUpstreamHeadLimit('GET', '/p', atLimit, HOST, false), false);
  const past = ['host', 'hs', 'x-pad', 'p'.repeat(UPSTREAM_HEAD_LIMIT_BYTES - fixed + 1)];
  t.equal(exceedsUpstreamHeadLimit('GET', '/p', past, HOST, false), true);
});

t.test('the request line, the host undici adds and its chunked line count', async (t) => {
  const noHost = ['x-pad', 'p'.repeat(UPSTREAM_HEAD_LIMIT_BYTES - twistedCount(['x-pad', '']))];
  t.equal(exceedsUpstreamHeadLimit('GET', '/p', noHost, HOST, false), false);
  t.equal(exceedsUpstreamHeadLimit('GET', '/p', noHost, 'synapse:80088', false), true, 'a longer upstream host');
  t.equal(exceedsUpstreamHeadLimit('GET', '/p', noHost, HOST, true), true, 'a body of unknown length');
  t.equal(exceedsUpstreamHeadLimit('GET', '/pp', noHost, HOST, false), true, 'a longer path');
  t.equal(exceedsUpstreamHeadLimit('PUT', '/p', noHost, HOST, false), true, 'a bodiless PUT: undici adds content-length: 0');
  t.equal(exceedsUpstreamHeadLimit('POST', '/p', noHost, HOST, false), true, 'a longer method');
});

t.test('a bodiless POST, PUT or PATCH counts the content-length: 0 undici adds to it', async (t) => {
  for (const method of ['POST', 'PUT', 'PATCH']) {
    const withLine = ['host', 'hs', 'content-length', '0', 'x-pad', ''];
    const atLimit = ['host', 'hs', 'x-pad', 'p'.repeat(UPSTREAM_HEAD_LIMIT_BYTES - twistedCount(withLine, false, method))];
    t.equal(exceedsUpstreamHeadLimit(method, '/p', atLimit, HOST, false), false, `${method}: at the limit with undici's line`);
    const past = ['host', 'hs', 'x-pad', `${atLimit[3]!}p`];
    t.equal(exceedsUpstreamHeadLimit(method, '/p', past, HOST, false), true, `${method}: one byte past it`);
  }
  const past = ['host', 'hs', 'x-pad', 'p'.repeat(UPSTREAM_HEAD_LIMIT_BYTES - twistedCount(['host', 'hs', 'x-pad', ''], false, 'POST') - 16)];
  t.equal(exceedsUpstreamHeadLimit('POST', '/p', past, HOST, false), true, 'the line is counted');
  t.equal(exceedsUpstreamHeadLimit('POST', '/p', [...past, 'content-length', '0'], HOST, false), true, 'once, when the headers have it');
  t.equal(exceedsUpstreamHeadLimit('POST', '/p', past, HOST, true), true, 'not for a chunked body (its own line counts)');
  t.equal(exceedsUpstreamHeadLimit('GET', '/pp', past, HOST, false), false, 'nor for a GET (no line added)');
});

t.test('a HEAD counts the connection: close undici writes for it, not keep-alive', async (t) => {
  const base = ['host', 'hs', 'x-pad', ''];
  const fixed = twistedCount(base, false, 'HEAD') - 'keep-alive'.length + 'close'.length;
  const atLimit = ['host', 'hs', 'x-pad', 'p'.repeat(UPSTREAM_HEAD_LIMIT_BYTES - fixed)];
  t.equal(exceedsUpstreamHeadLimit('HEAD', '/p', atLimit, HOST, false), false, 'at the limit');
  t.equal(exceedsUpstreamHeadLimit('HEAD', '/p', ['host', 'hs', 'x-pad', `${atLimit[3]!}p`], HOST, false), true, 'one byte past it');
});
