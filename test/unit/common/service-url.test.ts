import t from 'tap';
import { takeBasicAuth } from '../../../src/common/service-url.js';

const basic = (text: string): string => `Basic ${Buffer.from(text, 'utf8').toString('base64')}`;

t.test('takeBasicAuth: user info becomes a Basic value and leaves the URL (mutation 18)', async (t) => {
  const url = new URL('http://us%40er:p%3Ass@service.example/path');
  t.equal(takeBasicAuth(url), basic('us@er:p:ss'), 'decoded user and password');
  t.equal(url.username, '', 'the user name is taken out of the URL');
  t.equal(url.password, '', 'the password is taken out of the URL');
  t.equal(url.href, 'http://service.example/path');
});

t.test('takeBasicAuth: a user without a password, or a password without a user, is still sent as Go did (mutation 18)', async (t) => {
  t.equal(takeBasicAuth(new URL('http://user@service.example/')), basic('user:'));
  t.equal(takeBasicAuth(new URL('http://:secret@service.example/')), basic(':secret'));
});

t.test('takeBasicAuth: none is null, a malformed escape is undefined and leaves the URL as it was', async (t) => {
  t.equal(takeBasicAuth(new URL('http://service.example/')), null);
  const url = new URL('http://user:bad%zz@service.example/');
  t.equal(takeBasicAuth(url), undefined);
  t.equal(url.username, 'user');
});
