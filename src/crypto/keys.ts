/**
 * age X25519 keys in their standard text forms.
 *
 * - A recipient (public key) is Bech32 with the prefix `age`: `age1…`. Backups need only these.
 * - An identity (private key) is upper-case Bech32 with the prefix `AGE-SECRET-KEY-`. An identity
 *   file holds one or more of them, one per line; `#` comments and blank lines are allowed — the
 *   same files `age-keygen` writes.
 *
 * Keys become node:crypto KeyObjects through their DER encodings (PKCS#8 / SPKI with the X25519
 * OID), so every X25519 operation runs in OpenSSL.
 */
import { bech32 } from '@scure/base';
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { LifeboatError, describeError, fileErrorReason } from '../errors.ts';

const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

export interface Recipient {
  /** The `age1…` text form. */
  readonly text: string;
  readonly publicKey: KeyObject;
  /** The raw 32-byte Montgomery u-coordinate; part of the HKDF salt. */
  readonly raw: Buffer;
}

export interface Identity {
  readonly privateKey: KeyObject;
  /** The recipient that belongs to this identity. */
  readonly recipient: Recipient;
}

export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_X25519_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function rawPublicKey(key: KeyObject): Buffer {
  const der = key.export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - 32);
}

function rawPrivateKey(key: KeyObject): Buffer {
  const der = key.export({ format: 'der', type: 'pkcs8' });
  return der.subarray(der.length - 32);
}

function decodeBech32(text: string, prefix: string, what: string): Buffer {
  let decoded;
  try {
    decoded = bech32.decode(text as `${string}1${string}`, false);
  } catch {
    // The decoder's own message quotes its input, which may be a secret key: say less.
    throw new LifeboatError('KEY_INVALID', `invalid ${what}: its Bech32 encoding or checksum is wrong`);
  }
  if (decoded.prefix !== prefix.toLowerCase()) {
    throw new LifeboatError('KEY_INVALID', `invalid ${what}: expected the prefix "${prefix}1"`);
  }
  const bytes = Buffer.from(bech32.fromWords(decoded.words));
  if (bytes.length !== 32) throw new LifeboatError('KEY_INVALID', `invalid ${what}: expected 32 bytes, got ${bytes.length}`);
  return bytes;
}

/** Parses an `age1…` recipient. Errors never repeat the key text beyond its first characters. */
export function parseRecipient(text: string): Recipient {
  const trimmed = text.trim();
  if (!trimmed.startsWith('age1')) {
    throw new LifeboatError('KEY_INVALID', `invalid age recipient "${trimmed.slice(0, 12)}…": an X25519 recipient starts with "age1"`);
  }
  const raw = decodeBech32(trimmed, 'age', 'age recipient');
  return { text: trimmed, publicKey: publicKeyFromRaw(raw), raw };
}

export function encodeRecipient(raw: Uint8Array): string {
  return bech32.encode('age', bech32.toWords(raw), false);
}

/** Parses one `AGE-SECRET-KEY-1…` line. The error never echoes the secret. */
export function parseIdentity(text: string): Identity {
  const trimmed = text.trim();
  if (!trimmed.startsWith('AGE-SECRET-KEY-1')) {
    throw new LifeboatError('KEY_INVALID', 'invalid age identity: an X25519 identity starts with "AGE-SECRET-KEY-1"');
  }
  const raw = decodeBech32(trimmed, 'AGE-SECRET-KEY-', 'age identity');
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, raw]), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey);
  const pub = rawPublicKey(publicKey);
  return { privateKey, recipient: { text: encodeRecipient(pub), publicKey, raw: pub } };
}

export function encodeIdentity(privateKey: KeyObject): string {
  return bech32.encode('AGE-SECRET-KEY-', bech32.toWords(rawPrivateKey(privateKey)), false).toUpperCase();
}

/** Parses a key file line by line: blank lines and `#` comments are skipped, errors name the line. */
function parseKeyLines<T>(text: string, where: string, parse: (line: string) => T): T[] {
  const out: T[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    try {
      out.push(parse(trimmed));
    } catch (err) {
      throw new LifeboatError('KEY_INVALID', `${where}:${i + 1}: ${describeError(err)}`);
    }
  });
  return out;
}

/** Parses the text of an identity file; `where` names the file in errors. */
export function parseIdentityFile(text: string, where: string): Identity[] {
  const identities = parseKeyLines(text, where, parseIdentity);
  if (identities.length === 0) throw new LifeboatError('KEY_INVALID', `${where}: no age identity in the file`);
  return identities;
}

export async function readIdentityFile(path: string): Promise<Identity[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new LifeboatError('KEY_INVALID', `cannot read the age identity file ${path}: ${fileErrorReason(err)}`);
  }
  return parseIdentityFile(text, path);
}

/** Parses a recipients file (`age -R` format): one `age1…` per line, comments allowed. */
export function parseRecipientsFile(text: string, where: string): Recipient[] {
  return parseKeyLines(text, where, parseRecipient);
}

/** A new identity, in the text form `age-keygen` writes. */
export function generateIdentity(now = new Date()): { text: string; recipient: string } {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const recipient = encodeRecipient(rawPublicKey(publicKey));
  const text = `# created: ${now.toISOString().replace(/\.\d{3}Z$/, 'Z')}\n# public key: ${recipient}\n${encodeIdentity(privateKey)}\n`;
  return { text, recipient };
}
