/**
 * age's payload encryption: STREAM over ChaCha20-Poly1305. The plaintext is cut into 64 KiB chunks;
 * chunk i is sealed with the nonce (11-byte big-endian i ‖ last-flag), where the flag is 1 only on
 * the final chunk. The final chunk may be short, and is empty only when the whole payload is.
 * Truncation, reordering and appended data are therefore all detected.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { LifeboatError } from '../errors.ts';

export const CHUNK = 64 * 1024;
export const TAG = 16;
export const SEALED_CHUNK = CHUNK + TAG;

function nonce(counter: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  n.writeUIntBE(counter, 5, 6);
  n[11] = last ? 1 : 0;
  return n;
}

export function sealChunk(key: Buffer, counter: number, last: boolean, plain: Buffer, out: Buffer, offset: number): number {
  const cipher = createCipheriv('chacha20-poly1305', key, nonce(counter, last), { authTagLength: TAG });
  const body = cipher.update(plain);
  body.copy(out, offset);
  let n = body.length;
  const fin = cipher.final();
  fin.copy(out, offset + n);
  n += fin.length;
  cipher.getAuthTag().copy(out, offset + n);
  return n + TAG;
}

/** Opens one sealed chunk, or returns undefined when it does not authenticate. */
export function openChunk(key: Buffer, counter: number, last: boolean, sealed: Buffer): Buffer | undefined {
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce(counter, last), { authTagLength: TAG });
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
  try {
    const body = decipher.update(sealed.subarray(0, sealed.length - TAG));
    decipher.final();
    return body;
  } catch {
    return undefined;
  }
}

export function payloadError(reason: string, ciphertextOffset: number): LifeboatError {
  return new LifeboatError('DECRYPT_PAYLOAD', `encrypted payload corrupt at byte ${ciphertextOffset}: ${reason}`);
}

/** Seals plaintext chunk by chunk; holds back the newest chunk until it knows whether it is the last. */
export class StreamSealer {
  private counter = 0;
  private pending: Buffer = Buffer.alloc(0);
  private readonly key: Buffer;

  constructor(key: Buffer) {
    this.key = key;
  }

  /** Returns the sealed output for every chunk known not to be the last. */
  update(data: Buffer): Buffer {
    const buf = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    const full = buf.length > CHUNK ? Math.floor((buf.length - 1) / CHUNK) : 0;
    const out = Buffer.allocUnsafe(full * SEALED_CHUNK);
    for (let i = 0; i < full; i++) {
      sealChunk(this.key, this.counter++, false, buf.subarray(i * CHUNK, (i + 1) * CHUNK), out, i * SEALED_CHUNK);
    }
    // Copy the remainder so that a large input buffer is not kept alive by a small tail.
    this.pending = Buffer.from(buf.subarray(full * CHUNK));
    return out;
  }

  /** Seals what is left as the final chunk. */
  final(): Buffer {
    const out = Buffer.allocUnsafe(this.pending.length + TAG);
    sealChunk(this.key, this.counter++, true, this.pending, out, 0);
    this.pending = Buffer.alloc(0);
    return out;
  }
}

/**
 * Opens sealed chunks as they arrive. A full-size chunk is tried as a middle chunk first and then as
 * a final one (a payload that is a multiple of 64 KiB ends with a full final chunk); anything after
 * the final chunk, a missing final chunk or a failed tag is a payload failure naming the byte offset.
 */
export class StreamOpener {
  private counter = 0;
  private pending: Buffer = Buffer.alloc(0);
  private sawLast = false;
  private readonly key: Buffer;
  /** Ciphertext offset of the payload's first chunk within the whole file, for error messages. */
  private readonly base: number;

  constructor(key: Buffer, base: number) {
    this.key = key;
    this.base = base;
  }

  private offset(): number {
    return this.base + this.counter * SEALED_CHUNK;
  }

  /**
   * Hands every plaintext chunk that authenticated to `emit`, in order, and throws at the first
   * that does not: what was released before a failure is exactly the authenticated prefix.
   */
  update(data: Buffer, emit: (plain: Buffer) => void): void {
    let buf = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    while (buf.length >= SEALED_CHUNK) {
      if (this.sawLast) throw payloadError('data follows the final chunk', this.offset());
      const sealed = buf.subarray(0, SEALED_CHUNK);
      let plain = openChunk(this.key, this.counter, false, sealed);
      if (plain === undefined) {
        plain = openChunk(this.key, this.counter, true, sealed);
        if (plain === undefined) throw payloadError('chunk authentication failed', this.offset());
        this.sawLast = true;
      }
      emit(plain);
      this.counter++;
      buf = buf.subarray(SEALED_CHUNK);
    }
    if (this.sawLast && buf.length > 0) throw payloadError('data follows the final chunk', this.offset());
    this.pending = Buffer.from(buf);
  }

  /** Called at the end of the ciphertext: opens the short final chunk, if any. */
  final(): Buffer {
    const buf = this.pending;
    if (buf.length === 0) {
      if (this.sawLast) return Buffer.alloc(0);
      throw payloadError(this.counter === 0 ? 'the payload has no chunks' : 'the payload is truncated (no final chunk)', this.offset());
    }
    if (buf.length < TAG) throw payloadError('the final chunk is shorter than its tag', this.offset());
    const plain = openChunk(this.key, this.counter, true, buf);
    if (plain === undefined) throw payloadError('chunk authentication failed (or the payload is truncated)', this.offset());
    if (plain.length === 0 && this.counter > 0) throw payloadError('the final chunk is empty', this.offset());
    this.counter++;
    this.sawLast = true;
    this.pending = Buffer.alloc(0);
    return plain;
  }
}
