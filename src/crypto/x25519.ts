/**
 * The X25519 recipient stanza: `-> X25519 <ephemeral share>` with the file key wrapped in
 * ChaCha20-Poly1305 under HKDF-SHA-256(shared secret, salt = share ‖ recipient,
 * info = "age-encryption.org/v1/X25519").
 */
import { createCipheriv, createDecipheriv, diffieHellman, generateKeyPairSync, hkdfSync } from 'node:crypto';
import { decodeBase64, encodeBase64, headerError, type Stanza } from './header.ts';
import { publicKeyFromRaw, rawPublicKey, type Identity, type Recipient } from './keys.ts';

const INFO = 'age-encryption.org/v1/X25519';
const ZERO_NONCE = Buffer.alloc(12);

function wrapKey(shared: Buffer, share: Buffer, recipient: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([share, recipient]), INFO, 32));
}

export function wrapX25519(fileKey: Buffer, recipient: Recipient): Stanza {
  const ephemeral = generateKeyPairSync('x25519');
  const share = rawPublicKey(ephemeral.publicKey);
  const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient.publicKey });
  const cipher = createCipheriv('chacha20-poly1305', wrapKey(shared, share, recipient.raw), ZERO_NONCE, { authTagLength: 16 });
  const body = Buffer.concat([cipher.update(fileKey), cipher.final(), cipher.getAuthTag()]);
  return { type: 'X25519', args: [encodeBase64(share)], body };
}

/**
 * Tries to unwrap the file key from one X25519 stanza. Returns undefined when the stanza is not for
 * this identity; throws a header failure when the stanza is malformed.
 */
export function unwrapX25519(stanza: Stanza, identity: Identity): Buffer | undefined {
  if (stanza.args.length !== 1) throw headerError('an X25519 stanza must have exactly one argument');
  const share = decodeBase64(stanza.args[0] ?? '');
  if (share === undefined || share.length !== 32) throw headerError('an X25519 stanza has an invalid share');
  if (stanza.body.length !== 32) throw headerError('an X25519 stanza body must wrap a 16-byte file key');
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: identity.privateKey, publicKey: publicKeyFromRaw(share) });
  } catch {
    // OpenSSL refuses a derivation whose result is all zeros (a low-order share).
    throw headerError('an X25519 stanza has a low-order share');
  }
  if (shared.every((b) => b === 0)) throw headerError('an X25519 stanza has a low-order share');
  const decipher = createDecipheriv('chacha20-poly1305', wrapKey(shared, share, identity.recipient.raw), ZERO_NONCE, {
    authTagLength: 16,
  });
  decipher.setAuthTag(stanza.body.subarray(16));
  try {
    return Buffer.concat([decipher.update(stanza.body.subarray(0, 16)), decipher.final()]);
  } catch {
    return undefined;
  }
}
