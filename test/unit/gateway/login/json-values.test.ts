import t from 'tap';
import { parseJsonObject } from '../../../../src/gateway/json-body.js';
import { copyObjectWithout, isPythonTruthy } from '../../../../src/gateway/login/json-values.js';

t.test('objects only, strict UTF-8, BOM refused', async (t) => {
  t.same(parseJsonObject(Buffer.from(' {"a":1} \n')), { a: 1 });
  t.same(parseJsonObject('{"a":"é"}'), { a: 'é' });
  t.equal(parseJsonObject(Buffer.from('[1]')), null);
  t.equal(parseJsonObject(Buffer.from('null')), null);
  t.equal(parseJsonObject(Buffer.from('"x"')), null);
  t.equal(parseJsonObject(Buffer.from('')), null);
  t.equal(parseJsonObject(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x22, 0x7d])), null, 'truncated UTF-8 sequence');
  t.equal(parseJsonObject(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d])), null, 'UTF-8-encoded surrogate');
  t.equal(parseJsonObject(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{}')])), null, 'BOM');
  t.equal(parseJsonObject('{"a":Infinity}'), null);
});

t.test('Python truthiness', async (t) => {
  for (const value of [null, undefined, false, 0, -0, '', [], {}]) t.equal(isPythonTruthy(value), false, JSON.stringify(value) ?? 'undefined');
  for (const value of [true, 1, -1, 0.5, 'a', ' ', [0], { a: null }]) t.equal(isPythonTruthy(value), true, JSON.stringify(value));
});

t.test('copyObjectWithout', async (t) => {
  const source = parseJsonObject('{"a":1,"b":2,"__proto__":{"x":1}}');
  if (source === null) throw new Error('not parsed');
  const copy = copyObjectWithout(source, new Set(['b']));
  t.same(Object.keys(copy), ['a', '__proto__']);
  t.equal(Object.getPrototypeOf(copy), Object.prototype);
  t.notOk('b' in copy);
});
