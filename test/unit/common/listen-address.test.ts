import t from 'tap';
import { parseListenAddress } from '../../../src/common/listen-address.js';

t.test('host:port forms matrix-corporal accepts', async (t) => {
  t.same(parseListenAddress(':41080'), { host: null, port: 41080 }, 'no host: every interface, IPv6 included');
  t.same(parseListenAddress('0.0.0.0:41080'), { host: '0.0.0.0', port: 41080 }, 'an explicit IPv4 wildcard stays IPv4');
  t.same(parseListenAddress('[::]:41080'), { host: '::', port: 41080 });
  t.same(parseListenAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  t.same(parseListenAddress('corporal.internal:8080'), { host: 'corporal.internal', port: 8080 });
});

t.test('what is not an address', async (t) => {
  for (const text of ['41080', '127.0.0.1', '127.0.0.1:65536', '::1:41080', '[::1:41080', 'host:port', '']) {
    t.equal(parseListenAddress(text), null, JSON.stringify(text));
  }
});
