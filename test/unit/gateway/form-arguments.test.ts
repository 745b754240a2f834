import t from 'tap';
import { isFormPage, mayCarryFormArguments } from '../../../src/gateway/form-arguments.js';

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

t.test('forms pass only to Synapse\'s own form pages, matched on the raw path as Synapse matches them', (t) => {
  const pages = [
    '/_synapse/client/pick_username/submit',
    '/_synapse/client/new_user_consent',
    '/_synapse/client/oidc/callback',
    '/_synapse/client/saml2/authn_response',
    '/_synapse/client/password_reset/email/submit_token',
    '/_synapse/client/unsubscribe',
    '/_synapse/client/rendezvous',
    '/_matrix/consent',
    '/_matrix/saml2/authn_response',
    '/_matrix/client/v3/auth/m.login.recaptcha/fallback/web',
    '/_matrix/client/r0/auth/m.login.terms/fallback/web',
    '/_matrix/client/unstable/auth/x_y.z/fallback/web',
  ];
  for (const path of pages) t.equal(isFormPage(path), true, path);
  const others = [
    '/_synapse/admin/v1/deactivate/%40alice%3Aexample.com', // an appservice user_id in a form made Synapse act as its admin
    '/_synapse/admin/v1/reset_password/@bob:example.com',
    '/_synapse/mas/provision_user',
    '/_synapse/clientx/pick_username',
    '/_synapse/client/my_module/form', // a module's web resource may read a token from a form
    '/_synapse/client/pick_usernamex/submit',
    '/_matrix/consentx',
    '/_synapse/%63lient/pick_username', // Twisted would find the page, but the gateway does not decode here: refused
    '/_matrix/client/v3/rooms/!r:example.com/leave',
    '/_matrix/client/v3/auth/m.login.recaptcha/fallback/web/', // Synapse's pattern ends at `web`
    '/_matrix/client/v1/auth/m.login.recaptcha/fallback/web', // not a prefix Synapse serves it under
    '/_matrix/client/v3/auth/m%2Elogin/fallback/web', // `%` is no `\w`: Synapse routes it elsewhere
    '/_matrix/client/v3/register/../auth/x/fallback/web',
    '/_matrix/media/v3/upload',
    '/_matrix/federation/v1/send/1',
    '/',
  ];
  for (const path of others) t.equal(isFormPage(path), false, path);
  t.end();
});
