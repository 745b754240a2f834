import t from 'tap';
import { checkHttpUrl, hasUserInfo, isHttpUrl, withoutUserInfo } from '../../../src/common/http-url.js';

const NOT_ABSOLUTE = 'is not an absolute http(s) URL';

t.test('checkHttpUrl: the one rule for config and policy URLs', async (t) => {
  const rows: [string, string | null][] = [
    ['http://127.0.0.1:8008', null],
    ['https://synapse.example.com/base/', null],
    // matrix-corporal (Go url.Parse) folds the scheme's case; configurations may have written it so.
    ['HTTP://synapse:8008', null],
    ['HtTpS://synapse:8008', null],
    ['https://user:p%40ss@auth.example.com/check', null],
    ['ftp://example.com', NOT_ABSOLUTE],
    ['synapse:8008', NOT_ABSOLUTE],
    // WHATWG reads these as URLs, Go could not use them.
    ['http:synapse:8008', NOT_ABSOLUTE],
    ['http:\\\\synapse', NOT_ABSOLUTE],
    ['http://', NOT_ABSOLUTE],
    ['https://exa mple.com', NOT_ABSOLUTE],
    ['https://example.com/#top', 'may not have a #fragment'],
    ['https://us%ZZer@auth.example.com/', 'has an invalid %-escape in its user name or password'],
    ['https://user:p%2@auth.example.com/', 'has an invalid %-escape in its user name or password'],
    ['https://user:p%E9@auth.example.com/', 'has an invalid %-escape in its user name or password'],
  ];
  for (const [text, problem] of rows) t.equal(checkHttpUrl(text), problem, text);
});

t.test('a fragment is accepted when asked for, and never quoted in a problem', async (t) => {
  t.equal(checkHttpUrl('https://example.com/a.png#v2', { allowFragment: true }), null);
  t.equal(isHttpUrl('https://example.com/a.png#v2'), false);
  t.notMatch(checkHttpUrl('https://u:SECRET%ZZ@example.com/') ?? '', 'SECRET');
});

t.test('user info: detected and left out for display', async (t) => {
  t.equal(hasUserInfo('http://a:b@h/'), true);
  t.equal(hasUserInfo('http://h/'), false);
  t.equal(withoutUserInfo('http://admin:HUNTER2@h:8008/x'), 'http://h:8008/x');
  t.equal(withoutUserInfo('http://h:8008'), 'http://h:8008');
});
