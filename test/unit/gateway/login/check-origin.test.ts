import t from 'tap';
import { checkOriginOf } from '../../../../src/gateway/login/check-origin.js';
import { TrustedProxies } from '../../../../src/gateway/upstream/forwarded-for.js';
import { RequestContext } from '../../../../src/gateway/request-context.js';

/** A context with these headers from an untrusted peer (the real header look-up, nothing else). */
function contextWith(headers: string[]): RequestContext {
  return { headers, remoteAddress: '203.0.113.7', signal: new AbortController().signal, header: RequestContext.prototype.header } as unknown as RequestContext;
}

t.test('sentForwardedFor: the client sent an X-Forwarded-For header, not a value spelled so', async (t) => {
  const trusted = new TrustedProxies([]);
  const quoted = checkOriginOf(contextWith(['connection', 'x-forwarded-for', 'host', 'hs']), trusted);
  t.equal(quoted.clientAddress, '203.0.113.7');
  t.equal(quoted.sentForwardedFor, false, 'a header value is not a header (quality review 17b)');
  t.equal(checkOriginOf(contextWith(['x-forwarded-for', '198.51.100.1', 'host', 'hs']), trusted).sentForwardedFor, true);
});

t.test('countedClientKey: the counting key of the counted address, or null where nothing is counted', async (t) => {
  const { countedClientKey } = await import('../../../../src/gateway/login/check-origin.js');
  const trusted = new TrustedProxies(null);
  t.equal(countedClientKey([], '203.0.113.7', trusted), '203.0.113.7');
  t.equal(countedClientKey([], '2001:db8:1:2::7', trusted), '2001:db8:1:2::/64');
  t.equal(countedClientKey([], '127.0.0.1', trusted), null, 'a trusted proxy that names no client');
  t.equal(countedClientKey(['x-forwarded-for', '198.51.100.4'], '127.0.0.1', trusted), '198.51.100.4', 'the client a trusted proxy names');
});
