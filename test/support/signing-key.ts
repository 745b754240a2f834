import { generateKeyPairSync, randomBytes } from 'node:crypto';

/**
 * A fresh Synapse signing key in the one-line file format Synapse reads from `signing_key_path`:
 * `ed25519 a_<4 chars> <32-byte seed, unpadded standard base64>` (synapse.md §4.2). Made here so
 * that starting a test homeserver needs no `--generate-keys` run.
 */
export function generateSigningKey(): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  if (typeof jwk.d !== 'string') throw new Error('ed25519 JWK export has no private seed');
  // JWK `d` is the 32-byte seed in unpadded base64url; Synapse wants unpadded standard base64.
  const seed = jwk.d.replace(/-/g, '+').replace(/_/g, '/');
  return `ed25519 a_${randomKeyId()} ${seed}\n`;
}

function randomKeyId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return Array.from(randomBytes(4), (byte) => alphabet[byte % alphabet.length]).join('');
}
