import t from 'tap';
import { parsePolicyText } from '../../../src/policy/parse.js';

t.test('strict JSON parses without warnings', async (t) => {
  t.same(parsePolicyText('{"a": [1, 2.5e3, -0.5, true, false, null, "x\\u00e9\\n"]}'), {
    ok: true,
    value: { a: [1, 2500, -0.5, true, false, null, 'xé\n'] },
    warnings: [],
  });
});

t.test('trailing commas are tolerated, each with a warning naming line, column and pointer', async (t) => {
  const text = '{\n  "rooms": ["!a:x", "!b:x",],\n  "flags": {"f": true,\n  },\n}';
  t.same(parsePolicyText(text), {
    ok: true,
    value: { rooms: ['!a:x', '!b:x'], flags: { f: true } },
    warnings: [
      { pointer: '/rooms', message: "trailing comma before ']' ignored (not valid JSON)", line: 2, column: 27 },
      { pointer: '/flags', message: "trailing comma before '}' ignored (not valid JSON)", line: 3, column: 22 },
      { pointer: '', message: "trailing comma before '}' ignored (not valid JSON)", line: 4, column: 4 },
    ],
  });
});

t.test('pointers of trailing commas escape ~ and /', async (t) => {
  const result = parsePolicyText('{"a/b": {"c~d": [1,]}}');
  t.same(result.ok ? result.warnings.map((w) => w.pointer) : [], ['/a~1b/c~0d']);
});

t.test('a byte-order mark is skipped with a warning', async (t) => {
  t.same(parsePolicyText('\ufeff{"a": 1}'), {
    ok: true,
    value: { a: 1 },
    warnings: [{ pointer: '', message: 'byte-order mark at the start of the policy ignored', line: 1, column: 1 }],
  });
});

t.test('the tolerant path gives the same values as JSON.parse', async (t) => {
  // The trailing comma forces the tolerant parser; __proto__ stays an own property, a repeated
  // key keeps its last value.
  const result = parsePolicyText('{"__proto__": {"polluted": true}, "k": 1, "k": 2, "n": [1e2, -3.25E-1],}');
  t.ok(result.ok);
  const value = (result.ok ? result.value : {}) as Record<string, unknown>;
  t.same(Object.keys(value), ['__proto__', 'k', 'n']);
  t.same(value['k'], 2);
  t.same(value['n'], [100, -0.325]);
  t.equal(Object.getPrototypeOf(value), Object.prototype);
  t.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

t.test('a repeated key is read in document order, as Go reads it into a struct', async (t) => {
  // Strict JSON: JSON.parse alone would keep "active" at its first position, so the case variant
  // "Active" (read after it by the key matching) would win; Go takes the last "active".
  const text = '{\n  "active": false,\n  "Active": true,\n  "active": false\n}';
  const result = parsePolicyText(text);
  t.ok(result.ok);
  if (!result.ok) return;
  t.same(Object.entries(result.value as object), [['Active', true], ['active', false]]);
  t.same(result.warnings, [{ pointer: '/active', message: 'key `active` repeated in this object; the later value wins', line: 4, column: 3 }]);
});

t.test('a repeated key whose later value is null keeps the earlier value', async (t) => {
  const result = parsePolicyText('{"a": 1, "A": 2, "a": null}');
  t.ok(result.ok);
  if (!result.ok) return;
  t.same(Object.entries(result.value as object), [['a', 1], ['A', 2]]);
  t.same(result.warnings.map((w) => w.message), ['key `a` repeated in this object; the later `null` changes nothing']);
});

t.test('repeated keys are found at any depth, with warnings in document order', async (t) => {
  // The second "n" is reported before the trailing comma inside its value, although read after it.
  const result = parsePolicyText('{"users": [{"id": "@a:x", "x": [1,], "id": "@b:x"}], "k": [{"n": 1, "n": [2,]}]}');
  t.ok(result.ok);
  if (!result.ok) return;
  t.same(result.value, { users: [{ x: [1], id: '@b:x' }], k: [{ n: [2] }] });
  t.same(result.warnings.map((w) => [w.pointer, w.column]), [['/users/0/x', 34], ['/users/0/id', 38], ['/k/0/n', 69], ['/k/0/n', 76]]);
});

t.test('strings that look like keys do not change the values or add warnings', async (t) => {
  const text = '{"a": "x\\": y", "b": ["\\" :"], "c": {"d": "\\":"}}';
  t.same(parsePolicyText(text), { ok: true, value: JSON.parse(text), warnings: [] });
});

const errors: [string, string, { line: number; column: number; message: string; pointer: string }][] = [
  ['empty', '', { line: 1, column: 1, pointer: '', message: 'the policy is empty' }],
  ['blank', '  \n ', { line: 2, column: 2, pointer: '', message: 'the policy is empty' }],
  ['missing value', '{"a": }', { line: 1, column: 7, pointer: '/a', message: "unexpected character '}'; expected a value" }],
  ['missing comma', '{\n"a": 1\n"b": 2}', { line: 3, column: 1, pointer: '', message: "unexpected character '\"'; expected ',' or '}' after an object member" }],
  ['comment', '{"a": 1 // no\n}', { line: 1, column: 9, pointer: '', message: "unexpected character; expected ',' or '}' after an object member" }],
  ['single quotes', "{'a': 1}", { line: 1, column: 2, pointer: '', message: "unexpected character '''; expected a string key" }],
  ['unquoted key', '{a: 1}', { line: 1, column: 2, pointer: '', message: "unexpected character; expected a string key" }],
  ['two commas', '[1,,2]', { line: 1, column: 4, pointer: '/1', message: "unexpected character ','; expected a value" }],
  ['lone comma', '[,]', { line: 1, column: 2, pointer: '/0', message: "unexpected character ','; expected a value" }],
  ['leading zero', '{"n": 01}', { line: 1, column: 7, pointer: '/n', message: 'invalid number' }],
  ['bare minus', '[-]', { line: 1, column: 2, pointer: '/0', message: 'invalid number' }],
  ['NaN', '[NaN]', { line: 1, column: 2, pointer: '/0', message: "unexpected character; expected a value" }],
  ['truncated literal', '[tru]', { line: 1, column: 2, pointer: '/0', message: "unexpected character; expected a value" }],
  // An unquoted password must not show in the message (it is logged and kept in /status): not even its first letter.
  ['unquoted credential', '{"authCredential": Secret}', { line: 1, column: 20, pointer: '/authCredential', message: 'unexpected character; expected a value' }],
  ['stray punctuation is still shown', '{"a": 1;}', { line: 1, column: 8, pointer: '', message: "unexpected character ';'; expected ',' or '}' after an object member" }],
  ['unterminated string', '{"a": "x', { line: 1, column: 9, pointer: '/a', message: 'unexpected end of input in a string' }],
  ['raw newline in a string', '{"a": "x\ny"}', { line: 1, column: 9, pointer: '/a', message: 'control character in a string (escape it)' }],
  ['bad escape', '["\\x41"]', { line: 1, column: 3, pointer: '/0', message: 'invalid escape sequence in a string' }],
  ['short unicode escape', '["\\u12"]', { line: 1, column: 3, pointer: '/0', message: 'invalid \\u escape (four hex digits expected)' }],
  ['unclosed object', '{"users": [\n', { line: 2, column: 1, pointer: '/users/0', message: 'unexpected end of input; expected a value' }],
  ['text after the document', '{} {}', { line: 1, column: 4, pointer: '', message: "unexpected character '{'; expected the end of the document" }],
  ['control character outside strings', '{\u0001}', { line: 1, column: 2, pointer: '', message: 'unexpected character U+0001; expected a string key' }],
];

for (const [name, text, expected] of errors) {
  t.test(`syntax error: ${name}`, async (t) => {
    t.same(parsePolicyText(text), { ok: false, error: expected });
  });
}

t.test('nesting beyond 512 levels is refused instead of risking the stack', async (t) => {
  const deep = `${'['.repeat(600)}${']'.repeat(600)},`;
  const result = parsePolicyText(deep);
  t.equal(result.ok, false);
  t.equal(result.ok ? '' : result.error.message, 'nesting deeper than 512 levels');
});

t.test('text whose strings hold `":` is not re-read when no key repeats (deep nesting shows it)', async (t) => {
  // The tolerant parser refuses nesting beyond 512 levels; JSON.parse does not. Such text parses
  // only if the quick path kept it, which the exact key count allows.
  const deep = `${'['.repeat(600)}{"payload": "{\\"a\\": 1}"}${']'.repeat(600)}`;
  const result = parsePolicyText(deep);
  t.equal(result.ok, true);
  t.same(result.ok ? result.warnings : null, []);
});

t.test('warnings are bounded: the first 1000 in document order, then a count of the rest', async (t) => {
  // Repeated keys and trailing commas, in nested objects: each object warns about its repeated key
  // before the trailing comma inside that key's value.
  const text = `[${'\n{"k": 1, "k": [0,]},'.repeat(1500)}\n0]`;
  const result = parsePolicyText(text);
  t.ok(result.ok);
  const warnings = result.ok ? result.warnings : [];
  t.equal(warnings.length, 1001);
  t.same(warnings.slice(0, 3), [
    { pointer: '/0/k', message: 'key `k` repeated in this object; the later value wins', line: 2, column: 10 },
    { pointer: '/0/k', message: "trailing comma before ']' ignored (not valid JSON)", line: 2, column: 17 },
    { pointer: '/1/k', message: 'key `k` repeated in this object; the later value wins', line: 3, column: 10 },
  ]);
  t.same(warnings[999], { pointer: '/499/k', message: "trailing comma before ']' ignored (not valid JSON)", line: 501, column: 17 });
  t.same(warnings[1000], { pointer: '', message: '… and 2000 more warnings' });
});

t.test('the positions of many warnings on one long line take one pass over the text', async (t) => {
  // Looking for the next line break from each warning's offset read the rest of the line once per
  // warning: quadratic in the length of a one-line policy. Counts the characters indexOf reads.
  const text = `[${'[0,],'.repeat(5000)}0]`;
  const indexOf = String.prototype.indexOf;
  let read = 0;
  String.prototype.indexOf = function (this: string, search: string, from?: number): number {
    const found = indexOf.call(this, search, from);
    if (this === text) read += (found === -1 ? this.length : found) - (from ?? 0);
    return found;
  };
  let result;
  try {
    result = parsePolicyText(text);
  } finally {
    String.prototype.indexOf = indexOf;
  }
  t.equal(result.ok && result.warnings[999]?.column, 5 * 999 + 4, "the comma in the 1000th inner array");
  t.ok(read <= 2 * text.length, `${read} characters read for a text of ${text.length}`);
});
