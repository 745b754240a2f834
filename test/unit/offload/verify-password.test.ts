import t from 'tap';
import { Agent } from 'undici';
import { hashSync } from 'bcryptjs';
import type { AuthType } from '../../../src/policy/snapshot.js';
import { verifyPassword, type VerifyPasswordInput } from '../../../src/offload/verify-password.js';
import { MAX_PASSWORD_BYTES } from '../../../src/offload/verify-result.js';

const dispatcher = new Agent({ connect: { timeout: 1000 }, headersTimeout: 1000, bodyTimeout: 1000 });
t.teardown(() => dispatcher.close());

const PASSWORD = 'correct horse battery staple';
const UNICODE = 'pässwörd-🔑';
const OVERLONG = 'é'.repeat(MAX_PASSWORD_BYTES / 2 + 1); // 4098 UTF-8 bytes in 2049 characters

/** Hex digests made with Python's hashlib (an independent implementation). */
const DIGESTS: Readonly<Record<'md5' | 'sha1' | 'sha256' | 'sha512', { ascii: string; unicode: string }>> = {
  md5: { ascii: '9cc2ae8a1ba7a93da39b46fc1019c481', unicode: 'a389d9a9ece7714e39419ace82ecd3c3' },
  sha1: { ascii: 'abf7aad6438836dbe526aa231abde2d0eef74d42', unicode: '30d04febb368d01f6657ca58d8a3bb1c6e8d6173' },
  sha256: {
    ascii: 'c4bbcb1fbec99d65bf59d85c8cb62ee2db963f0fe106f483d9afa73bd4e39a8a',
    unicode: '793934201e36e02b956eb5c45c0a9c5245dee73411545f98045b45cc5f7cbde9',
  },
  sha512: {
    ascii: 'be5ef7679d88ab9a9045f6267e55f5e5784b4b8cd764b5cd855a5244f91c626953cd46c43d7668873fd6efbd3b221249315580031963472a078781fe046e62ae',
    unicode: '471c88daaed48df734b6ff70831d107996c500a79d995261378f7b140c6ddbe9d18f0dc5c45e7f4b2615c43c3ccadd497009d70ab24ade242a6586e6e28b9e07',
  },
};

/** Hashes made by Synapse's Python `bcrypt` 5.0.0 (`/root/.cache/corporal/synapse-1.163.2-probe`). */
const PYTHON_BCRYPT = {
  pw2b04: '$2b$04$Y8GYpjJiqPm2bJ7xsO6r8ejZIZQQOeU/Z6vP4DtjrGkfBG7BKY17e', // "pw"
  pw2a05: '$2a$05$fAkgxVyE2h3Y9baJd2CC7uekyS7t2O.PnrZYByBMtOfZsAcZW7B1.', // "pw"
  unicode2b05: '$2b$05$c1IV.TYC8wq0hEs/5gK4qevDqAkxjoqIv3wBzLsMsTMNFoW9wZRqG', // UNICODE
  unicode2b04: '$2b$04$5U6ezK7FETFGsMSt0NnrD.tUJn0mNIXvfi3lVzxWvvk.bhakqV0x6', // UNICODE
  x72: '$2b$04$ynDgP7GDDUDwUR5V3FHKMO0ZvIIgePFI9gxHWUIf3O57.YKV4k86a', // "x" × 72
};

function check(authType: AuthType, credential: string, password: string) {
  const input: VerifyPasswordInput = { authType, credential, password, userId: '@alice:example.com', restTimeoutMs: 1000 };
  return verifyPassword(input, { dispatcher });
}

const yes = { ok: true, value: { authenticated: true } };
const no = { ok: true, value: { authenticated: false } };

t.test('plain', async (t) => {
  t.same(await check('plain', PASSWORD, PASSWORD), yes);
  t.same(await check('plain', UNICODE, UNICODE), yes);
  t.same(await check('plain', PASSWORD, PASSWORD + ' '), no, 'a longer password');
  t.same(await check('plain', PASSWORD, PASSWORD.slice(0, -1)), no, 'a prefix');
  t.same(await check('plain', PASSWORD, PASSWORD.toUpperCase()), no, 'case matters');
  t.same(await check('plain', UNICODE, UNICODE.normalize('NFD')), no, 'no Unicode normalisation');
  t.same(await check('plain', PASSWORD, ''), no, 'empty password');
  t.match(await check('plain', '', ''), { ok: true, value: { authenticated: false } }, 'empty password never matches, even an empty credential');
  t.match(await check('plain', '', 'x'), { ok: false, code: 'invalid-credential' }, 'empty credential is a policy error');
  t.match(await check('plain', OVERLONG, OVERLONG), { ok: false, code: 'password-too-long' });
  const longest = 'a'.repeat(MAX_PASSWORD_BYTES);
  t.same(await check('plain', longest, longest), yes, 'exactly the maximum is accepted');
});

for (const algorithm of ['md5', 'sha1', 'sha256', 'sha512'] as const) {
  t.test(algorithm, async (t) => {
    const { ascii, unicode } = DIGESTS[algorithm];
    t.same(await check(algorithm, ascii, PASSWORD), yes, 'lower-case hex');
    t.same(await check(algorithm, ascii.toUpperCase(), PASSWORD), yes, 'upper-case hex');
    const mixed = [...ascii].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join('');
    t.same(await check(algorithm, mixed, PASSWORD), yes, 'mixed-case hex');
    t.same(await check(algorithm, unicode, UNICODE), yes, 'unicode password (UTF-8 bytes)');
    t.same(await check(algorithm, ascii, UNICODE), no, 'wrong password');
    t.same(await check(algorithm, ascii, PASSWORD + '\n'), no, 'trailing newline is a different password');
    t.same(await check(algorithm, ascii, ''), no, 'empty password');
    t.match(await check(algorithm, ascii, OVERLONG), { ok: false, code: 'password-too-long' });
    t.match(await check(algorithm, `${ascii.slice(0, -1)}g`, PASSWORD), { ok: false, code: 'invalid-credential' }, 'invalid hex digit');
    t.match(await check(algorithm, ` ${ascii.slice(1)}`, PASSWORD), { ok: false, code: 'invalid-credential' }, 'whitespace');
    t.match(await check(algorithm, ascii.slice(0, -1), PASSWORD), { ok: false, code: 'invalid-credential' }, 'odd number of digits');
    t.match(await check(algorithm, ascii.slice(0, -2), PASSWORD), { ok: false, code: 'invalid-credential' }, 'one byte short');
    t.match(await check(algorithm, `${ascii}00`, PASSWORD), { ok: false, code: 'invalid-credential' }, 'one byte long');
    t.match(await check(algorithm, '', PASSWORD), { ok: false, code: 'invalid-credential' }, 'empty credential');
    const other = algorithm === 'sha256' ? DIGESTS.sha512.ascii : DIGESTS.sha256.ascii;
    t.match(await check(algorithm, other, PASSWORD), { ok: false, code: 'invalid-credential' }, 'digest of another algorithm');
  });
}

t.test('bcrypt: hashes from Synapse\'s Python bcrypt', async (t) => {
  t.same(await check('bcrypt', PYTHON_BCRYPT.pw2b04, 'pw'), yes, '$2b$04$');
  t.same(await check('bcrypt', PYTHON_BCRYPT.pw2a05, 'pw'), yes, '$2a$05$');
  t.same(await check('bcrypt', PYTHON_BCRYPT.unicode2b05, UNICODE), yes, 'unicode, cost 5');
  t.same(await check('bcrypt', PYTHON_BCRYPT.unicode2b04, UNICODE), yes, 'unicode, cost 4');
  t.same(await check('bcrypt', PYTHON_BCRYPT.pw2b04, 'pW'), no, 'wrong password is false, not an error');
  t.same(await check('bcrypt', PYTHON_BCRYPT.unicode2b04, UNICODE.normalize('NFD')), no, 'no Unicode normalisation');
  t.same(await check('bcrypt', PYTHON_BCRYPT.pw2b04, ''), no, 'empty password');
  t.same(await check('bcrypt', PYTHON_BCRYPT.x72, 'x'.repeat(72)), yes, '72 bytes');
  t.same(await check('bcrypt', PYTHON_BCRYPT.x72, 'x'.repeat(71)), no, '71 bytes');
  t.same(await check('bcrypt', PYTHON_BCRYPT.x72, `${'x'.repeat(72)}ignored`), yes, 'bytes after the 72nd do not count (bcrypt)');
  t.match(await check('bcrypt', PYTHON_BCRYPT.pw2b04, OVERLONG), { ok: false, code: 'password-too-long' });
  t.same(
    await check('bcrypt', PYTHON_BCRYPT.pw2b04.replace('$2b$', '$2y$'), 'pw'),
    yes,
    '$2y$ (PHP\'s name for the same algorithm as $2b$)',
  );
  t.same(await check('bcrypt', PYTHON_BCRYPT.pw2a05.replace('$2a$', '$2x$'), 'pw'), yes, '$2x$ is read as $2a$, as Go did');
});

t.test('bcrypt: hashes made with bcryptjs at several costs and prefixes', async (t) => {
  for (const cost of [4, 5, 6, 8]) {
    const made = hashSync(UNICODE, cost);
    t.match(made, new RegExp(`^\\$2b\\$0${cost}\\$`), `bcryptjs made a $2b$ cost ${cost} hash`);
    for (const prefix of ['$2a$', '$2b$', '$2y$']) {
      const hash = prefix + made.slice(4);
      t.same(await check('bcrypt', hash, UNICODE), yes, `${prefix} cost ${cost}: right password`);
      t.same(await check('bcrypt', hash, `${UNICODE}!`), no, `${prefix} cost ${cost}: wrong password`);
    }
  }
});

t.test('bcrypt: malformed hashes are policy errors', async (t) => {
  const good = PYTHON_BCRYPT.pw2b04;
  const malformed: Record<string, string> = {
    empty: '',
    'not a hash': 'pw',
    'one character short': good.slice(0, -1),
    'one character long': `${good}a`,
    'bare $2$': `$2$04$${good.slice(7)}`,
    'unknown minor $2c$': good.replace('$2b$', '$2c$'),
    'version 3': good.replace('$2b$', '$3b$'),
    'cost 03': good.replace('$04$', '$03$'),
    'cost 32': good.replace('$04$', '$32$'),
    'character outside the alphabet': `${good.slice(0, -1)}+`,
    'a digest instead': DIGESTS.sha256.ascii,
  };
  for (const [name, hash] of Object.entries(malformed)) {
    t.match(await check('bcrypt', hash, 'pw'), { ok: false, code: 'invalid-credential' }, name);
  }
});

t.test('types Corporal does not verify', async (t) => {
  t.match(await check('passthrough', 'whatever', 'pw'), { ok: false, code: 'unsupported-auth-type' });
  t.match(await check('none' as AuthType, 'whatever', 'pw'), { ok: false, code: 'unsupported-auth-type' });
});

t.test('failure messages never contain the password or the credential', async (t) => {
  const results = [
    await check('plain', '', 'hunter2-secret'),
    await check('sha256', 'zz-credential-zz', 'hunter2-secret'),
    await check('bcrypt', '$2b$04$credential-not-a-hash', 'hunter2-secret'),
    await check('sha256', DIGESTS.sha256.ascii, `hunter2-secret${OVERLONG}`),
  ];
  for (const result of results) {
    t.equal(result.ok, false);
    if (!result.ok) {
      t.notMatch(result.message, /hunter2|credential-not|zz-credential/);
    }
  }
});
