import t from 'tap';
import {
  avatarUriHash,
  hasDeactivatedMarker,
  NO_AVATAR_HASH,
  REDACTED,
  redactAction,
  redactedAvatarUri,
  stripDeactivatedMarkers,
} from '../../../../src/control/plan/index.js';
import { derivedPassword } from '../../../../src/common/derived-password.js';

t.test('derivedPassword is hex(HMAC-SHA512(secret, mxid))', async (t) => {
  // Computed with `printf '%s' '@a:example.com' | openssl dgst -sha512 -hmac 'fixture-auth-shared-secret'`.
  t.equal(
    derivedPassword('fixture-auth-shared-secret', '@a:example.com'),
    '627ef7cd43d9673aaafc8712eed8e3ce02b2801461a40b7bc339f032ea0d9eabc3aaccd4c35d4935828597e6bf35cd876a4472fa7bcead91fcbc2bd40830d8aa',
  );
  t.not(derivedPassword('other-secret', '@a:example.com'), derivedPassword('fixture-auth-shared-secret', '@a:example.com'));
});

t.test('avatarUriHash is the sha512 hex of the URI string', async (t) => {
  // matrix-corporal's constant for "no avatar".
  t.equal(
    NO_AVATAR_HASH,
    'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e',
  );
  t.equal(
    avatarUriHash('http://example.com/image.jpg'),
    '53d18b18fddf6a58bebf9c2f349020a37e0136d2cb24de236f7ae9deeefebbd3bf67bf245825e4fb9397003e6b8c1ca5c1490a098db183fabf243e8666c3c15f',
  );
});

t.test('the deactivation marker is a prefix', async (t) => {
  const rows: Array<[name: string, marked: boolean, stripped: string]> = [
    ['[x] Alice', true, 'Alice'],
    ['[x] [x] Alice', true, 'Alice'],
    ['[x] ', true, ''],
    ['[x]Alice', false, '[x]Alice'],
    ['Alice [x] B', false, 'Alice [x] B'],
    ['', false, ''],
  ];
  for (const [name, marked, stripped] of rows) {
    t.equal(hasDeactivatedMarker(name), marked, `marked: ${JSON.stringify(name)}`);
    t.equal(stripDeactivatedMarkers(name), stripped, `stripped: ${JSON.stringify(name)}`);
  }
});

t.test('redactAction hides the password of user.create only', async (t) => {
  const create = { type: 'user.create', userId: '@a:example.com', password: 'secret', passwordIsDerived: true } as const;
  t.strictSame(redactAction(create), { ...create, password: REDACTED });
  t.equal(create.password, 'secret', 'the action itself is not changed');
  const join = { type: 'room.join', userId: '@a:example.com', roomId: '!a:example.com' } as const;
  t.equal(redactAction(join), join);
});

t.test('redactAction shows an avatar URI by its origin and a hash prefix only (red team 12, F7)', async (t) => {
  const uri = 'https://user:pw@img.example.com:8443/a/b.png?token=s3cr3t#frag';
  const avatar = { type: 'user.set_avatar', userId: '@a:example.com', avatarUri: uri } as const;
  const redacted = redactAction(avatar);
  t.strictSame(redacted, { ...avatar, avatarUri: `https://img.example.com:8443/… sha512:${avatarUriHash(uri).slice(0, 12)}` });
  t.notMatch((redacted as typeof avatar).avatarUri, /s3cr3t|user|pw|b\.png|frag/, 'no path, query, fragment or userinfo');
  t.equal(avatar.avatarUri, uri, 'the action itself is not changed');
  t.not(redactedAvatarUri(`${uri}x`), redactedAvatarUri(uri), 'two URIs stay apart');
  t.equal(redactedAvatarUri('data:image/png;base64,AAAA'), `data:… sha512:${avatarUriHash('data:image/png;base64,AAAA').slice(0, 12)}`);
  t.equal(redactedAvatarUri('ftp://x/y?k'), `… sha512:${avatarUriHash('ftp://x/y?k').slice(0, 12)}`, 'another scheme shows nothing');
  t.equal(redactedAvatarUri('not a url'), `… sha512:${avatarUriHash('not a url').slice(0, 12)}`);
  const removal = { type: 'user.set_avatar', userId: '@a:example.com', avatarUri: '' } as const;
  t.equal(redactAction(removal), removal, 'a removal ("") is shown as is');
});
