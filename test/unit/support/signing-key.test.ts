import t from 'tap';
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { generateSigningKey } from '../../support/signing-key.js';

t.test('a signing key line is "ed25519 a_<id> <unpadded base64 seed>" and the seed is a usable key', async (t) => {
  const line = generateSigningKey();
  const match = /^ed25519 (a_[A-Za-z0-9]{4}) ([A-Za-z0-9+/]{43})\n$/.exec(line);
  t.ok(match, line);
  const seed = Buffer.from(match![2]!, 'base64');
  t.equal(seed.length, 32);
  // PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410).
  const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
  const message = Buffer.from('corporal');
  t.ok(verify(null, message, createPublicKey(privateKey), sign(null, message, privateKey)));
  t.not(generateSigningKey(), line, 'each call makes a new key');
});
