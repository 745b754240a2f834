import t from 'tap';
import { jsonObject, MAX_JSON_DEPTH, nestsDeeperThan, ownField, parseJsonBody, parseJsonObject } from '../../../src/gateway/json-body.js';

const bytes = (text: string): Uint8Array => Buffer.from(text, 'utf8');

t.test('parses JSON the way Synapse decodes request bodies', (t) => {
  t.same(parseJsonBody(new Uint8Array(0)), { kind: 'empty' });
  t.same(parseJsonBody(bytes('{"a":1}')), { kind: 'json', value: { a: 1 } });
  t.same(parseJsonBody(bytes(' \t\r\n[1] \n')), { kind: 'json', value: [1] }, 'JSON whitespace around the value');
  t.same(parseJsonBody(bytes('null')), { kind: 'json', value: null });
  t.same(parseJsonBody(bytes('{"a":"\\u00e9"}')), { kind: 'json', value: { a: 'é' } });
  t.same(parseJsonBody(bytes('{"a":1,"a":2}')), { kind: 'json', value: { a: 2 } }, 'last duplicate key wins, as in Python');
  t.end();
});

t.test('refuses what Synapse refuses', (t) => {
  for (const text of ['nope', '{"a":1', '{"a":1} x', 'NaN', '{"a":Infinity}', "{'a':1}", '{"a":"\u0001"}', ' ']) {
    t.same(parseJsonBody(bytes(text)), { kind: 'invalid' }, JSON.stringify(text));
  }
  t.same(parseJsonBody(Buffer.from('7b2261223a2262ff227d', 'hex')), { kind: 'invalid' }, 'invalid UTF-8 is not replaced');
  t.same(parseJsonBody(Buffer.from('efbbbf7b7d', 'hex')), { kind: 'invalid' }, 'a BOM is not skipped');
  t.same(parseJsonBody(Buffer.from('fffe7b007d00', 'hex')), { kind: 'invalid' }, 'UTF-16 is not detected');
  t.end();
});

t.test('jsonObject and ownField', (t) => {
  t.same(jsonObject(parseJsonBody(bytes('{"a":1}'))), { a: 1 });
  t.equal(jsonObject(parseJsonBody(bytes('[1]'))), null);
  t.equal(jsonObject(parseJsonBody(bytes('"s"'))), null);
  t.equal(jsonObject(parseJsonBody(bytes('null'))), null);
  t.equal(jsonObject(parseJsonBody(new Uint8Array(0))), null);
  t.equal(jsonObject(undefined), null);
  const object = jsonObject(parseJsonBody(bytes('{"__proto__":{"user_id":"@x:hs"},"user_id":"@a:hs"}')));
  t.ok(object !== null);
  if (object !== null) {
    t.equal(ownField(object, 'user_id'), '@a:hs');
    t.same(ownField(object, '__proto__'), { user_id: '@x:hs' }, '__proto__ is an ordinary key');
    t.equal(ownField(object, 'toString'), undefined, 'inherited members are not fields');
  }
  t.end();
});

t.test('nesting deeper than Python\'s json reads is not JSON (red team 17, F5)', (t) => {
  const nested = (depth: number): string => `{"x":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
  t.same(parseJsonBody(bytes(nested(MAX_JSON_DEPTH))), { kind: 'json', value: JSON.parse(nested(MAX_JSON_DEPTH)) as unknown }, 'at the bound: read');
  t.same(parseJsonBody(bytes(nested(MAX_JSON_DEPTH + 1))), { kind: 'invalid' }, 'one deeper: not JSON');
  t.equal(parseJsonObject(nested(MAX_JSON_DEPTH + 1)), null, 'the string form too');
  t.same(parseJsonBody(bytes(`{"x":"${'['.repeat(5000)}"}`)), { kind: 'json', value: { x: '['.repeat(5000) } }, 'brackets inside strings do not count');
  t.equal(nestsDeeperThan('["\\\"[[[", [[1]]]', 2), true, 'escapes end where they end');
  t.equal(nestsDeeperThan('["\\"] [[1]]', 2), false);
  t.end();
});
