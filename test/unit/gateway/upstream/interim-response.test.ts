import t from 'tap';
import { inTurn, rawRequest, wireResponses } from '../../../support/raw-http.js';
import { startProxyHarness } from './fixtures/proxy-harness.js';

/**
 * An upstream that sends an informational head (103 Early Hints, as a CDN in front of Synapse may)
 * before its final answer: the client gets the final answer, not the 103 (quality review 17).
 */
const harness = await startProxyHarness({
  answer(socket) {
    socket.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n');
    setTimeout(() => socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok'), 20);
  },
});
t.teardown(() => harness.close());

t.test('an upstream 103 before the 200: the client gets the 200 and its body, and nothing else', async (t) => {
  const responses = wireResponses(await inTurn(harness.port, [rawRequest('GET', '/_matrix/client/v3/x')], 2_000));
  const final = responses.find((r) => /^HTTP\/1\.1 [2-5]\d\d /.test(r.head));
  t.ok(final, `a final response reached the client (got: ${JSON.stringify(responses.map((r) => r.head.split('\r\n')[0]))})`);
  t.match(final?.head ?? '', /^HTTP\/1\.1 200 OK/);
  t.equal(final?.body, 'ok');
  t.equal(responses.length, 1, 'the 103 is not passed on');
});
