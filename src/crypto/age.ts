/**
 * age v1 (https://age-encryption.org/v1) encryption and decryption as Node streams, on node:crypto.
 *
 * A file is: header (recipient stanzas + MAC) ‖ 16-byte nonce ‖ STREAM payload. The 16-byte file
 * key is random per file; the payload key is HKDF-SHA-256(file key, salt = nonce, info = "payload").
 * Only X25519 recipients are implemented: scrypt (passphrases), the post-quantum hybrid type and
 * ASCII armor are not, and the test suite names the vectors it skips for that reason.
 *
 * Why not the pure-JS `age-encryption` package for payloads: it encrypts several times slower than
 * OpenSSL's ChaCha20-Poly1305 through node:crypto, and snapshots are large. It remains the
 * reference implementation in the interop tests.
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { release } from '../memory.ts';
import { LifeboatError } from '../errors.ts';
import { encodeHeader, headerError, parseHeader, verifyHeaderMac } from './header.ts';
import type { Identity, Recipient } from './keys.ts';
import { StreamOpener, StreamSealer } from './stream.ts';
import { unwrapX25519, wrapX25519 } from './x25519.ts';

const NONCE_BYTES = 16;
/** A header larger than this is refused: real headers are a few hundred bytes per recipient. */
const MAX_HEADER_BYTES = 1 << 20;

function payloadKey(fileKey: Buffer, nonce: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', fileKey, nonce, 'payload', 32));
}

/**
 * A Transform that turns plaintext into an age file for the given recipients. With `consumeInput`,
 * the caller hands over each input buffer and the memory around it (zstd frames from node:zlib):
 * it is freed as soon as it is sealed (see memory.ts).
 */
export function createEncryptStream(recipients: readonly Recipient[], o: { consumeInput?: boolean } = {}): Transform {
  if (recipients.length === 0) throw new LifeboatError('KEY_INVALID', 'age encryption needs at least one recipient');
  const fileKey = randomBytes(16);
  const header = encodeHeader(
    recipients.map((r) => wrapX25519(fileKey, r)),
    fileKey,
  );
  const nonce = randomBytes(NONCE_BYTES);
  const sealer = new StreamSealer(payloadKey(fileKey, nonce));
  let started = false;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      if (!started) {
        started = true;
        this.push(Buffer.concat([header, nonce]));
      }
      for (const b of sealer.update(chunk)) this.push(b);
      // The sealer copied what it keeps (less than a chunk) into its own staging buffer.
      if (o.consumeInput) release(chunk, { wholeMemory: true });
      cb();
    },
    flush(cb: TransformCallback) {
      if (!started) this.push(Buffer.concat([header, nonce]));
      for (const b of sealer.final()) this.push(b);
      cb();
    },
  });
}

function findHeaderEnd(buf: Buffer): number {
  // The MAC line is the first line that starts with "---"; the header ends at its newline.
  const i = buf.indexOf('\n---', 0, 'latin1');
  if (i < 0) return -1;
  const end = buf.indexOf(0x0a, i + 1);
  return end < 0 ? -1 : end + 1;
}

/**
 * A Transform that decrypts an age file with any of the given identities. With `consumeInput`, the
 * caller hands over each input buffer, freed once opened (see memory.ts). Plaintext is released
 * chunk by chunk as each chunk authenticates; the first failure destroys the stream with a
 * LifeboatError whose code says which kind it is (no match, header, HMAC, payload at byte N).
 */
export function createDecryptStream(identities: readonly Identity[], o: { consumeInput?: boolean } = {}): Transform {
  let buffered: Buffer = Buffer.alloc(0);
  let opener: StreamOpener | undefined;
  let headerLength = 0;

  function feed(stream: Transform, chunk: Buffer): void {
    if (opener) {
      opener.update(chunk, (plain) => stream.push(plain));
      // The opener copied what it keeps (less than a chunk). Before the header is complete, the
      // input may still be referenced by `buffered`: those first chunks are left to the collector.
      if (o.consumeInput) release(chunk);
      return;
    }
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    if (headerLength === 0) {
      if (!buffered.subarray(0, 22).equals(Buffer.from('age-encryption.org/v1\n').subarray(0, Math.min(22, buffered.length)))) {
        throw headerError('it does not start with "age-encryption.org/v1"');
      }
      const end = findHeaderEnd(buffered);
      if (end < 0) {
        if (buffered.length > MAX_HEADER_BYTES) throw headerError('the header is larger than 1 MiB');
        return;
      }
      headerLength = end;
    }
    if (buffered.length < headerLength + NONCE_BYTES) return;
    const fileKey = fileKeyFor(buffered.subarray(0, headerLength), identities);
    const nonce = buffered.subarray(headerLength, headerLength + NONCE_BYTES);
    opener = new StreamOpener(payloadKey(fileKey, nonce), headerLength + NONCE_BYTES);
    const rest = buffered.subarray(headerLength + NONCE_BYTES);
    buffered = Buffer.alloc(0);
    opener.update(rest, (plain) => stream.push(plain));
  }

  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      try {
        feed(this, chunk);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
    flush(cb: TransformCallback) {
      try {
        if (!opener) {
          if (headerLength === 0) throw headerError(buffered.length === 0 ? 'the file is empty' : 'the header is incomplete');
          if (buffered.length < headerLength + NONCE_BYTES) {
            fileKeyFor(buffered.subarray(0, headerLength), identities);
            throw headerError('the payload nonce is missing or short');
          }
        }
        const last = opener?.final();
        cb(null, last && last.length > 0 ? last : undefined);
      } catch (err) {
        cb(err as Error);
      }
    },
  });
}

/** Parses a complete header and unwraps the file key with the first identity that matches. */
function fileKeyFor(header: Buffer, identities: readonly Identity[]): Buffer {
  const parsed = parseHeader(header);
  for (const identity of identities) {
    for (const stanza of parsed.stanzas) {
      if (stanza.type !== 'X25519') continue;
      const fileKey = unwrapX25519(stanza, identity);
      if (fileKey === undefined) continue;
      if (!verifyHeaderMac(parsed, fileKey)) throw new LifeboatError('DECRYPT_HMAC', 'the age header MAC does not match: the header was altered or corrupted');
      return fileKey;
    }
  }
  throw new LifeboatError('DECRYPT_NO_MATCH', 'no identity matches: this file was not encrypted to any key in the identity file (wrong identity file?)');
}

/**
 * Checks that one of the identities opens the header at the start of an age file (for a restore
 * preflight). `start` must hold at least the whole header; throws the same errors as decryption.
 */
export function checkHeader(start: Buffer, identities: readonly Identity[]): void {
  if (!start.subarray(0, 22).equals(Buffer.from('age-encryption.org/v1\n').subarray(0, Math.min(22, start.length)))) {
    throw headerError('it does not start with "age-encryption.org/v1"');
  }
  const end = findHeaderEnd(start);
  if (end < 0) throw headerError('the header is incomplete');
  fileKeyFor(start.subarray(0, end), identities);
}
