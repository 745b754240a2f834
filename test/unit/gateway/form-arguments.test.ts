import t from 'tap';
import { mayCarryFormArguments } from '../../../src/gateway/form-arguments.js';

// `form` is what Twisted 26 (under Synapse 1.163.2) made of each value with `_parseContentType`:
// true where it parsed the body into arguments. Values Twisted does not parse but that are not a
// plain `type/subtype` are refused as well (`refused`), since the gateway does not imitate Python's
// e-mail header parser.
const CASES: Array<[value: string, refused: boolean, note: string]> = [
  ['application/json', false, 'plain JSON'],
  ['application/json; charset=utf-8', false, 'parameters do not change the media type'],
  ['application/json;application/x-www-form-urlencoded', false, 'Twisted: application/json'],
  ['application/json; =?utf-8?b?YXBwbGljYXRpb24veC13d3ctZm9ybS11cmxlbmNvZGVk?=', false, 'Twisted: application/json'],
  ['image/png', false, 'a media upload'],
  ['', false, 'an empty value is skipped by Twisted'],
  ['application/x-www-form-urlencoded', true, 'form'],
  ['  APPLICATION/X-WWW-FORM-URLENCODED ; charset=x', true, 'form: case and whitespace'],
  ['application/X-WWW-FORM-URLENCODED;;', true, 'form'],
  ['multipart/form-data; boundary=b', true, 'multipart form (Synapse refuses it too)'],
  ['=?utf-8?b?YXBwbGljYXRpb24veC13d3ctZm9ybS11cmxlbmNvZGVk?=', true, 'form: an encoded word Python decodes'],
  ['application/=?utf-8?q?x-www-form-urlencoded?=', true, 'form: an encoded subtype'],
  ['\u00a0application/x-www-form-urlencoded', true, 'form: Python skips the non-breaking space'],
  ['application/x-www-form-urlencoded\u000b', true, 'form: and a trailing vertical tab'],
  ['(c)application/(d)x-www-form-urlencoded', true, 'not a form for Twisted, but not plain either'],
  ['application/json, application/x-www-form-urlencoded', true, 'text/plain for Twisted; not plain here'],
];

t.test('the first Content-Type of a POST with a body', (t) => {
  for (const [value, refused, note] of CASES) {
    t.equal(mayCarryFormArguments('POST', true, ['host', 'x', 'content-type', value]), refused, `${JSON.stringify(value)}: ${note}`);
  }
  t.end();
});

t.test('only the first Content-Type line counts, as in Twisted', (t) => {
  t.equal(mayCarryFormArguments('POST', true, ['content-type', 'application/json', 'content-type', 'application/x-www-form-urlencoded']), false);
  t.equal(mayCarryFormArguments('POST', true, ['content-type', 'application/x-www-form-urlencoded', 'content-type', 'application/json']), true);
  t.end();
});

t.test('only POST requests with a body', (t) => {
  const form = ['content-type', 'application/x-www-form-urlencoded'];
  t.equal(mayCarryFormArguments('PUT', true, form), false, 'Twisted parses forms of POST only');
  t.equal(mayCarryFormArguments('post', true, form), true, 'any case of POST, to be safe');
  t.equal(mayCarryFormArguments('POST', false, form), false, 'no body, no arguments');
  t.equal(mayCarryFormArguments('POST', true, []), false, 'no Content-Type');
  t.end();
});
