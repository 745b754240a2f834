import t from 'tap';
import { parseJsonTree } from '../../../../src/common/config/json-parse.js';
import { plainValueOf } from '../../../../src/common/config/json-tree.js';

function valueOf(text: string): unknown {
  const result = parseJsonTree(text);
  if (!result.ok) throw new Error(`unexpected syntax error: ${result.message}`);
  return plainValueOf(result.node);
}

t.test('syntax errors name line and column', async (t) => {
  const rows: Array<[text: string, line: number, column: number, message: string]> = [
    ['', 1, 1, 'unexpected end of input; expected a value'],
    ['   \n  ', 2, 3, 'unexpected end of input; expected a value'],
    ['{\n  "a": 1,\n}', 3, 1, "unexpected character '}'; expected a string key"],
    ['{"a": [1, 2,]}', 1, 13, "unexpected character ']'; expected a value"],
    ['{"a" 1}', 1, 6, "unexpected character; expected ':' after an object key"],
    ['{"a": 1 "b": 2}', 1, 9, "unexpected character '\"'; expected ',' or '}' after an object member"],
    ['[1 2]', 1, 4, "unexpected character; expected ',' or ']' after an array element"],
    ["{'a': 1}", 1, 2, "unexpected character '''; expected a string key"],
    ['{"a": 01}', 1, 8, 'invalid number'],
    ['{"a": 1.}', 1, 8, 'invalid number'],
    ['{"a": -}', 1, 7, 'invalid number'],
    ['{"a": .5}', 1, 7, "unexpected character; expected a value"],
    ['{"a": +1}', 1, 7, "unexpected character; expected a value"],
    ['{"a": tru}', 1, 7, "unexpected character; expected a value"],
    // A letter or digit may start an unquoted secret: never quoted (as in the policy parser).
    ['{"Matrix": {"AuthSharedSecret": s3cret}}', 1, 33, 'unexpected character; expected a value'],
    ['{"HttpApi": {"AuthorizationBearerToken": 9f8e7d}}', 1, 43, "unexpected character; expected ',' or '}' after an object member"],
    ['{"a": "x\ty"}', 1, 9, 'control character in a string (escape it)'],
    ['{"a": "\\x"}', 1, 8, 'invalid escape sequence in a string'],
    ['{"a": "\\u12G4"}', 1, 10, 'invalid \\u escape (four hex digits expected)'],
    ['{"a": "abc', 1, 11, 'unexpected end of input in a string'],
    ['{"a": 1', 1, 8, "unexpected end of input; expected ',' or '}' after an object member"],
    ['\u0001', 1, 1, 'unexpected character U+0001; expected a value'],
    ['[' .repeat(600), 1, 514, 'nesting deeper than 512 levels'],
  ];
  for (const [text, line, column, message] of rows) {
    t.same(parseJsonTree(text), { ok: false, at: { line, column }, message }, JSON.stringify(text).slice(0, 40));
  }
});

t.test('values, escapes and numbers', async (t) => {
  t.same(valueOf('{"a": [true, false, null, -0, 1.5e3, "x"], "b": {}}'), { a: [true, false, null, 0, 1500, 'x'], b: {} });
  t.equal(valueOf('"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9"'), '"\\/\b\f\n\r\té');
  t.equal(valueOf('"\\ud83d\\ude00"'), '\u{1f600}', 'a surrogate pair is one character');
  t.equal(valueOf('"a\\ud83db"'), 'a\ufffdb', 'a lone high surrogate becomes U+FFFD, as in Go');
  t.equal(valueOf('"\\ude00"'), '\ufffd', 'a lone low surrogate becomes U+FFFD');
  t.equal(valueOf('"\\ud83d\\u0041"'), '\ufffdA', 'a high surrogate followed by a non-surrogate escape');
  t.same(valueOf('\ufeff{"a":1}'), { a: 1 }, 'a leading byte-order mark is skipped');
});

t.test('number literals are kept for Go\'s integer rule', async (t) => {
  const result = parseJsonTree('[1, 1.0, 1e3, -7]');
  t.ok(result.ok);
  if (result.ok && result.node.kind === 'array') {
    t.same(result.node.items.map((n) => (n.kind === 'number' ? n.raw : null)), ['1', '1.0', '1e3', '-7']);
  }
});

t.test('duplicate keys and key order are kept', async (t) => {
  const result = parseJsonTree('{"b": 1, "a": 2, "b": 3, "2": 4}');
  t.ok(result.ok);
  if (result.ok && result.node.kind === 'object') {
    t.same(result.node.entries.map((e) => e.key), ['b', 'a', 'b', '2']);
  }
});

t.test('text after the first value is reported, not rejected (as Go\'s json.Decoder)', async (t) => {
  const result = parseJsonTree('{"a": 1}\n\n  } // garbage');
  t.same(result.ok && result.trailingAt, { line: 3, column: 3 });
  const clean = parseJsonTree('{"a": 1}\n  \n');
  t.equal(clean.ok && clean.trailingAt, null);
});

t.test('"__proto__" stays an own key', async (t) => {
  const value = valueOf('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
  t.same(Object.keys(value), ['__proto__']);
  t.equal(Object.getPrototypeOf(value), Object.prototype);
  t.equal(({} as Record<string, unknown>)['polluted'], undefined);
});
