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
