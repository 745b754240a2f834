import t from 'tap';
import { formatPeerAddress } from '../../../src/gateway/peer-address.js';

const bytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex.replace(/[^0-9a-f]/g, ''), 'hex'));

t.test('uWS address bytes become their usual text form', async (t) => {
  const rows: Array<[Uint8Array, string]> = [
    [Uint8Array.from([127, 0, 0, 1]), '127.0.0.1'],
    [Uint8Array.from([10, 200, 0, 255]), '10.200.0.255'],
    [bytes('0000:0000:0000:0000:0000:0000:0000:0001'), '::1'],
    [bytes('0000:0000:0000:0000:0000:ffff:7f00:0001'), '127.0.0.1'],
    [bytes('2001:0db8:0000:0000:0001:0000:0000:0001'), '2001:db8::1:0:0:1'],
    [bytes('2001:0db8:0001:0002:0003:0004:0005:0006'), '2001:db8:1:2:3:4:5:6'],
    [bytes('fe80:0000:0000:0000:0000:0000:0000:0000'), 'fe80::'],
    [bytes('0000:0000:0000:0000:0000:0000:0000:0000'), '::'],
    [bytes('2001:0db8:0000:0001:0000:0001:0000:0001'), '2001:db8:0:1:0:1:0:1'],
    [new Uint8Array(0), ''],
  ];
  for (const [input, expected] of rows) t.equal(formatPeerAddress(input), expected, expected || 'empty');
});
