import t from 'tap';
import { formatPeerAddress } from '../../../src/gateway/peer-address.js';

t.test('uWS addresses become their usual text form', async (t) => {
  const rows: Array<[string, string]> = [
    ['127.0.0.1', '127.0.0.1'],
    ['0000:0000:0000:0000:0000:0000:0000:0001', '::1'],
    ['0000:0000:0000:0000:0000:ffff:7f00:0001', '127.0.0.1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
    ['2001:0db8:0001:0002:0003:0004:0005:0006', '2001:db8:1:2:3:4:5:6'],
    ['fe80:0000:0000:0000:0000:0000:0000:0000', 'fe80::'],
    ['0000:0000:0000:0000:0000:0000:0000:0000', '::'],
    ['2001:0db8:0000:0001:0000:0001:0000:0001', '2001:db8:0:1:0:1:0:1'],
    ['garbage:text', 'garbage:text'],
  ];
  for (const [input, expected] of rows) t.equal(formatPeerAddress(input), expected, input);
});
