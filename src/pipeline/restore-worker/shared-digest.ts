/**
 * The stored object's SHA-256 (the ciphertext's), computed on the thread that started the worker.
 *
 * SHA-256 is sequential and costs about 0.6 CPU-second per GiB; on the worker it lengthened the
 * one thread every byte passes through, while the main thread sat idle waiting for the restore. So
 * the worker copies each piece into a small ring of shared memory (a copy costs a tenth of the
 * hashing) and says which slot; the main thread hashes the slot in place — no buffer allocated
 * there, so its garbage collector stays quiet — and hands the slot back. When every slot is
 * taken, the worker's stream waits: memory stays bounded at the ring's size.
 */
import { createHash, type Hash } from 'node:crypto';
import type { RemoteDigest } from '../measure.ts';

const SLOT_BYTES = 1 << 20;
const SLOTS = 4;

export type DigestRequest = { readonly type: 'hash'; readonly slot: number; readonly length: number } | { readonly type: 'digest' };
export type DigestReply = { readonly type: 'free'; readonly slot: number } | { readonly type: 'digest'; readonly sha256: string };

export function digestRing(): SharedArrayBuffer {
  return new SharedArrayBuffer(SLOT_BYTES * SLOTS);
}

/** The worker's side: a Measure stage's digest. Feed it the main thread's replies. */
export class DigestWriter implements RemoteDigest {
  private readonly ring: Uint8Array;
  private readonly send: (m: DigestRequest) => void;
  private readonly free = Array.from({ length: SLOTS }, (_, i) => SLOTS - 1 - i);
  private slotFreed?: () => void;
  private digested?: (sha256: string) => void;

  constructor(ring: SharedArrayBuffer, send: (m: DigestRequest) => void) {
    this.ring = new Uint8Array(ring);
    this.send = send;
  }

  update(piece: Buffer): Promise<void> | undefined {
    for (let off = 0; off < piece.length; ) {
      const slot = this.free.pop();
      if (slot === undefined) {
        const rest = piece.subarray(off);
        return new Promise<void>((resolve) => (this.slotFreed = resolve)).then(() => this.update(rest));
      }
      const length = Math.min(SLOT_BYTES, piece.length - off);
      this.ring.set(piece.subarray(off, off + length), slot * SLOT_BYTES);
      this.send({ type: 'hash', slot, length });
      off += length;
    }
    return undefined;
  }

  digest(): Promise<string> {
    const result = new Promise<string>((resolve) => (this.digested = resolve));
    this.send({ type: 'digest' });
    return result;
  }

  receive(m: DigestReply): void {
    if (m.type === 'digest') return this.digested?.(m.sha256);
    this.free.push(m.slot);
    const wake = this.slotFreed;
    this.slotFreed = undefined;
    wake?.();
  }
}

/** The main thread's side: hashes each slot in place, in the order the worker sent them. */
export class DigestReader {
  private readonly ring: SharedArrayBuffer;
  private readonly hash: Hash = createHash('sha256');

  constructor(ring: SharedArrayBuffer) {
    this.ring = ring;
  }

  answer(m: DigestRequest): DigestReply {
    if (m.type === 'digest') return { type: 'digest', sha256: this.hash.digest('hex') };
    this.hash.update(new Uint8Array(this.ring, m.slot * SLOT_BYTES, m.length));
    return { type: 'free', slot: m.slot };
  }
}
