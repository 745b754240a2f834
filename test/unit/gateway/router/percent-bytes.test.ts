import t from 'tap';
import { percentDecodeBytes } from '../../../../src/gateway/router/percent-bytes.js';

const decode = (text: string, plusAsSpace: boolean, from = 0, to = text.length): string =>
  Buffer.from(percentDecodeBytes(text, from, to, plusAsSpace)).toString('latin1');

t.test('%XX in either case is the byte; any other % stays literally', async (t) => {
  t.equal(decode('a%41%6a%6A', false), 'aAjj');
  t.equal(decode('%zz%4%', false), '%zz%4%');
  t.equal(decode('%%41', false), '%A');
  t.equal(decode('%e2%82%ac', false), '\xe2\x82\xac', 'bytes, not characters');
});

t.test('plusAsSpace: a literal + is a space, an escaped one stays +', async (t) => {
  t.equal(decode('a+b%2Bc', true), 'a b+c');
  t.equal(decode('a+b%2Bc', false), 'a+b+c');
});

t.test('only text[from, to) is read: an escape cut by the end stays literal', async (t) => {
  t.equal(decode('x%41y', false, 1, 3), '%4');
  t.equal(decode('x%41y', false, 1, 4), 'A');
});
