/**
 * age's payload encryption: STREAM over ChaCha20-Poly1305. The plaintext is cut into 64 KiB chunks;
 * chunk i is sealed with the nonce (11-byte big-endian i ‖ last-flag), where the flag is 1 only on
 * the final chunk. The final chunk may be short, and is empty only when the whole payload is.
 * Truncation, reordering and appended data are therefore all detected.
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
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

/** Seals one chunk; the output is its ciphertext and its tag, as two buffers (no copy into a third). */
export function sealChunk(key: KeyObject, counter: number, last: boolean, plain: Buffer, out: Buffer[]): void {
  const cipher = createCipheriv('chacha20-poly1305', key, nonce(counter, last), { authTagLength: TAG });
  const body = cipher.update(plain);
  // ChaCha20-Poly1305 is a stream cipher: final() adds no bytes, only computes the tag.
  cipher.final();
  out.push(body, cipher.getAuthTag());
}

/** Opens one sealed chunk, or returns undefined when it does not authenticate. */
export function openChunk(key: KeyObject, counter: number, last: boolean, sealed: Buffer): Buffer | undefined {
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

/**
 * Seals plaintext chunk by chunk. A whole chunk with more input after it is sealed straight from the
 * input; only pieces that do not fill a chunk are copied into a 64 KiB staging buffer. A full stage
 * is sealed as a middle chunk as soon as more input arrives, and whatever is staged at the end is
 * sealed as the final chunk (which may therefore be full, or empty for an empty payload). Output is
 * a list of buffers (ciphertext, tag, …) rather than one joined buffer: joining would copy every
 * byte once more and allocate as much again.
 */
export class StreamSealer {
  private counter = 0;
  private readonly stage = Buffer.allocUnsafe(CHUNK);
  private fill = 0;
  // A KeyObject made once: passing raw key bytes to every createCipheriv costs ~40% of the speed.
  private readonly key: KeyObject;

  constructor(key: Buffer) {
    this.key = createSecretKey(key);
  }

  /** Returns the sealed output of every chunk known not to be the last. */
  update(data: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let off = 0;
    while (off < data.length) {
      if (this.fill === CHUNK) {
        sealChunk(this.key, this.counter++, false, this.stage, out);
        this.fill = 0;
      }
      if (this.fill === 0 && data.length - off > CHUNK) {
        sealChunk(this.key, this.counter++, false, data.subarray(off, off + CHUNK), out);
        off += CHUNK;
        continue;
      }
      const n = Math.min(CHUNK - this.fill, data.length - off);
      data.copy(this.stage, this.fill, off, off + n);
      this.fill += n;
      off += n;
    }
    return out;
  }

  /** Seals what is staged as the final chunk. */
  final(): Buffer[] {
    const out: Buffer[] = [];
    sealChunk(this.key, this.counter++, true, this.stage.subarray(0, this.fill), out);
    this.fill = 0;
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
  /** Ciphertext not opened yet: always less than one sealed chunk between calls. */
  private parts: Buffer[] = [];
  private partsLength = 0;
  private sawLast = false;
  private readonly key: KeyObject;
  /** Ciphertext offset of the payload's first chunk within the whole file, for error messages. */
  private readonly base: number;

  constructor(key: Buffer, base: number) {
    this.key = createSecretKey(key);
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
    if (this.sawLast && data.length > 0) throw payloadError('data follows the final chunk', this.offset());
    let off = 0;
    if (this.partsLength > 0) {
      // Complete the chunk that straddled the previous input: only its bytes are copied.
      const need = SEALED_CHUNK - this.partsLength;
      if (data.length < need) {
        this.parts.push(Buffer.from(data));
        this.partsLength += data.length;
        return;
      }
      const first = Buffer.concat([...this.parts, data.subarray(0, need)], SEALED_CHUNK);
      this.parts = [];
      this.partsLength = 0;
      this.openMiddleOrLast(first, emit);
      off = need;
    }
    // Whole chunks are opened where they lie in the input, without a copy.
    while (data.length - off >= SEALED_CHUNK) {
      this.openMiddleOrLast(data.subarray(off, off + SEALED_CHUNK), emit);
      off += SEALED_CHUNK;
    }
    if (off < data.length) {
      if (this.sawLast) throw payloadError('data follows the final chunk', this.offset());
      // Copy the small remainder so that a large input buffer is not kept alive by it.
      this.parts = [Buffer.from(data.subarray(off))];
      this.partsLength = data.length - off;
    }
  }

  /** Opens one full-size sealed chunk: a middle chunk, or else the final one. */
  private openMiddleOrLast(sealed: Buffer, emit: (plain: Buffer) => void): void {
    if (this.sawLast) throw payloadError('data follows the final chunk', this.offset());
    let plain = openChunk(this.key, this.counter, false, sealed);
    if (plain === undefined) {
      plain = openChunk(this.key, this.counter, true, sealed);
      if (plain === undefined) throw payloadError('chunk authentication failed', this.offset());
      this.sawLast = true;
    }
    emit(plain);
    this.counter++;
  }

  /** Called at the end of the ciphertext: opens the short final chunk, if any. */
  final(): Buffer {
    const buf = Buffer.concat(this.parts, this.partsLength);
    this.parts = [];
    this.partsLength = 0;
    if (buf.length === 0) {
      if (this.sawLast) return buf;
      throw payloadError(this.counter === 0 ? 'the payload has no chunks' : 'the payload is truncated (no final chunk)', this.offset());
    }
    if (buf.length < TAG) throw payloadError('the final chunk is shorter than its tag', this.offset());
    const plain = openChunk(this.key, this.counter, true, buf);
    if (plain === undefined) throw payloadError('chunk authentication failed (or the payload is truncated)', this.offset());
    if (plain.length === 0 && this.counter > 0) throw payloadError('the final chunk is empty', this.offset());
    this.counter++;
    this.sawLast = true;
    return plain;
  }
}
