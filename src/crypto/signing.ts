/**
 * Ed25519 signatures on manifests and drill reports, so that a replaced manifest (pointing at a
 * forged payload, with matching hashes) or a forged drill report is detected. What is signed is the
 * document's canonical JSON — keys sorted, no whitespace — without its `signature` field; the
 * signature travels inside the document, so readers that do not check it just ignore the field.
 *
 * Public keys are written `ed25519:<base64url of the 32-byte key>`; the private key is a PKCS#8
 * PEM file (mode 0600), made by `lifeboat keygen --signing`.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { LifeboatError } from '../errors.ts';

export interface Signature {
  readonly algorithm: 'ed25519';
  /** The signer's public key, as configured: which of several keys made it. */
  readonly publicKey: string;
  readonly value: string;
}

export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: string;
}

const PREFIX = 'ed25519:';

export function publicKeyText(key: KeyObject): string {
  return `${PREFIX}${(key.export({ format: 'jwk' }) as { x: string }).x}`;
}

export function generateSigningKey(): { pem: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), publicKey: publicKeyText(publicKey) };
}

/** Reads a PEM private key; throws a message fit for a config error. */
export function parseSigningKey(pem: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new LifeboatError('KEY_INVALID', 'is not a PEM private key (make one with `lifeboat keygen --signing -o FILE`)');
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new LifeboatError('KEY_INVALID', `holds an ${privateKey.asymmetricKeyType ?? 'unknown'} key, not an Ed25519 key`);
  return { privateKey, publicKey: publicKeyText(createPublicKey(privateKey)) };
}

export function parsePublicKey(text: string): KeyObject {
  const x = text.startsWith(PREFIX) ? text.slice(PREFIX.length) : '';
  if (!/^[A-Za-z0-9_-]{43}$/.test(x)) throw new LifeboatError('KEY_INVALID', `"${text}" is not an Ed25519 public key (ed25519: followed by 43 base64url characters)`);
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
}

/** JSON with object keys sorted at every level and no whitespace: the bytes that are signed. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function signedBytes(doc: Record<string, unknown>): Buffer {
  const { signature: _omit, ...rest } = doc;
  return Buffer.from(canonicalJson(rest));
}

/** The document with a signature by `key`. */
export function signDocument<T extends Record<string, unknown>>(doc: T, key: SigningKey): T & { signature: Signature } {
  const value = sign(null, signedBytes(doc), key.privateKey).toString('base64url');
  return { ...doc, signature: { algorithm: 'ed25519', publicKey: key.publicKey, value } };
}

/**
 * Checks a document's signature against the trusted keys; returns why it fails, or undefined when
 * it is signed by one of them.
 */
export function checkSignature(doc: Record<string, unknown>, trusted: ReadonlyMap<string, KeyObject>): string | undefined {
  const sig = doc.signature as Partial<Signature> | undefined;
  if (!sig || typeof sig !== 'object') return 'it is not signed, and signing.publicKeys requires a signature';
  if (sig.algorithm !== 'ed25519' || typeof sig.value !== 'string' || typeof sig.publicKey !== 'string') return 'its signature is malformed';
  const key = trusted.get(sig.publicKey);
  if (!key) return `it is signed by ${sig.publicKey}, which is not one of signing.publicKeys`;
  return verify(null, signedBytes(doc), key, Buffer.from(sig.value, 'base64url')) ? undefined : 'its signature does not match its content (altered after signing)';
}
