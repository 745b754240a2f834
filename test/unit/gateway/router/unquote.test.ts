import t from 'tap';
import { unquote } from '../../../../src/gateway/router/unquote.js';
import { loadUnquoteCases } from '../../../fixtures/routes/fixture-files.js';

t.test('agrees with CPython urllib.parse.unquote on every generated case', (t) => {
  const { python, cases } = loadUnquoteCases();
  t.ok(cases.length > 1000, `${cases.length} cases from CPython ${python}`);
  const mismatches = cases.filter(([input, expected]) => unquote(input) !== expected);
  t.same(
    mismatches.slice(0, 10).map(([input, expected]) => ({ input, expected, got: unquote(input) })),
    [],
    'no mismatch',
  );
  t.end();
});

t.test('the Synapse-relevant cases, spelled out', (t) => {
  t.equal(unquote('!a%2Fb:s'), '!a/b:s', '%2F decodes inside a param');
  t.equal(unquote('%40alice%3Alocalhost'), '@alice:localhost');
  t.equal(unquote('display%6Eame'), 'displayname');
  t.equal(unquote('m%2eroom%2Eencryption'), 'm.room.encryption', 'hex digits in either case');
  t.equal(unquote('%zz'), '%zz', 'invalid escape kept');
  t.equal(unquote('%4'), '%4', 'short escape kept');
  t.equal(unquote('a%'), 'a%', 'trailing % kept');
  t.equal(unquote('%C3'), '\ufffd', 'invalid UTF-8 becomes U+FFFD');
  t.equal(unquote('%F0%80%80%80'), '\ufffd\ufffd\ufffd\ufffd', 'one U+FFFD per maximal invalid subsequence');
  t.equal(unquote('%EF%BB%BFx'), '\ufeffx', 'a BOM is kept');
  t.equal(unquote('%C3é'), '\ufffdé', 'ASCII and non-ASCII runs decode separately');
  t.equal(unquote('a+b'), 'a+b', '+ is not a space');
  t.equal(unquote('%2525'), '%25', 'decoded once');
  const plain = 'no-escapes-here';
  t.equal(unquote(plain), plain);
  t.end();
});
