import t from 'tap';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { contentEncodingOf, decodeContent } from '../../../../src/gateway/login/response-encoding.js';

const BODY = Buffer.from('{"user_id":"@dave:example.com","access_token":"syt_x"}');

t.test('contentEncodingOf reads raw upstream headers', async (t) => {
  const raw = (pairs: string[]): Buffer[] => pairs.map((text) => Buffer.from(text, 'latin1'));
  t.equal(contentEncodingOf(raw(['Content-Type', 'application/json'])), null);
  t.equal(contentEncodingOf(raw(['Content-Type', 'application/json', 'Content-Encoding', ' GZIP '])), 'gzip');
  t.equal(contentEncodingOf(raw(['content-encoding', 'br'])), 'br');
});

t.test('decodeContent: identity and the three compressions Synapse/Twisted may use', async (t) => {
  for (const encoding of [null, '', 'identity']) t.same(decodeContent(BODY, encoding, 1024), BODY, String(encoding));
  t.same(decodeContent(gzipSync(BODY), 'gzip', 1024), BODY);
  t.same(decodeContent(gzipSync(BODY), 'x-gzip', 1024), BODY);
  t.same(decodeContent(deflateSync(BODY), 'deflate', 1024), BODY);
  t.same(decodeContent(brotliCompressSync(BODY), 'br', 1024), BODY);
});

t.test('unknown encodings, corrupt data and bombs are unreadable', async (t) => {
  t.equal(decodeContent(BODY, 'compress', 1024), null);
  t.equal(decodeContent(BODY, 'gzip', 1024), null, 'not gzip data');
  t.equal(decodeContent(gzipSync(Buffer.alloc(1024 * 1024)), 'gzip', 64 * 1024), null, 'decodes past the bound');
});
