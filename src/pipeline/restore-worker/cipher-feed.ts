/**
 * How the stored object (the ciphertext) reaches the restore worker: the main thread reads it —
 * from the open file of an fs site or from an S3 download — hashes it, and hands each buffer to
 * the worker (transferred, not copied). The SHA-256 goes with the last message.
 *
 * Why here and not in the worker: every byte passes through the worker's one thread (decrypt,
 * gather frames, vet, write the plaintext), and on two cores that thread is the longest path of a
 * restore. Reading and hashing on the main thread, which otherwise only waits, took ~0.25 CPU-s per
 * GiB off the worker (the file's reads and a copy into a shared ring for hashing): a 1 GiB files
 * restore into tmpfs 3.38–3.68 s → 3.13–3.40 s (bench/README.md).
 *
 * Memory stays bounded: at most `CREDITS` buffers are on their way to the worker or waiting in
 * its stream; the worker gives a credit back each time its stream takes one more.
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { RemoteDigest } from '../measure.ts';

/** Bytes per message: one read of the file, or S3 body pieces gathered to this size. */
export const PIECE_BYTES = 1 << 20;
/** Buffers in flight to the worker. */
const CREDITS = 4;

/** The main thread's messages to the worker about the ciphertext. */
export type CipherMessage =
  | { readonly type: 'cipher'; readonly data: ArrayBuffer; readonly length: number }
  | { readonly type: 'cipherEnd'; readonly sha256: string }
  | { readonly type: 'cipherError'; readonly message: string };

/** The main thread's side: reads `from`, hashes it and posts it piece by piece. */
export class CipherFeeder {
  private readonly post: (m: CipherMessage, transfer?: ArrayBuffer[]) => void;
  private credits = CREDITS;
  private waiting?: () => void;
  private stopped = false;

  constructor(post: (m: CipherMessage, transfer?: ArrayBuffer[]) => void) {
    this.post = post;
  }

  /** The worker's stream took a piece: one more may go. */
  credit(): void {
    this.credits++;
    this.wake();
  }

  /** No more pieces: the worker is gone or the restore ended. */
  stop(): void {
    this.stopped = true;
    this.wake();
  }

  /**
   * Feeds the whole object; resolves once the last piece and the digest are posted, or once the
   * feed was stopped. A read that fails is reported to the worker, which fails its stream, and
   * rejects. A file is closed at the end either way.
   */
  async feed(from: FileHandle | Readable): Promise<void> {
    const hash = createHash('sha256');
    try {
      const pieces = from instanceof Readable ? gathered(from) : reads(from);
      for await (const piece of pieces) {
        hash.update(piece);
        if (!(await this.turn())) return;
        this.credits--;
        this.post({ type: 'cipher', data: piece.buffer as ArrayBuffer, length: piece.length }, [piece.buffer as ArrayBuffer]);
      }
      if (!this.stopped) this.post({ type: 'cipherEnd', sha256: hash.digest('hex') });
    } catch (err) {
      // A feed stopped on purpose ends quietly: its download was destroyed, which is no read error.
      if (this.stopped) return;
      this.post({ type: 'cipherError', message: (err as Error).message });
      throw err;
    } finally {
      if (!(from instanceof Readable)) await from.close().catch(() => {});
    }
  }

  /** Waits for a credit; false when the feed was stopped meanwhile. */
  private async turn(): Promise<boolean> {
    while (this.credits === 0 && !this.stopped) await new Promise<void>((resolve) => (this.waiting = resolve));
    return !this.stopped;
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }
}

/** A file's reads, each into a buffer of its own (it is transferred). */
async function* reads(file: FileHandle): AsyncGenerator<Buffer> {
  for (;;) {
    const buf = Buffer.allocUnsafeSlow(PIECE_BYTES);
    const { bytesRead } = await file.read(buf, 0, PIECE_BYTES, null);
    if (bytesRead === 0) return;
    yield buf.subarray(0, bytesRead);
  }
}

/** A download's pieces (of any size, often views of shared memory) gathered into buffers of its own. */
async function* gathered(body: Readable): AsyncGenerator<Buffer> {
  let buf = Buffer.allocUnsafeSlow(PIECE_BYTES);
  let fill = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    for (let off = 0; off < chunk.length; ) {
      const n = chunk.copy(buf, fill, off);
      fill += n;
      off += n;
      if (fill === PIECE_BYTES) {
        yield buf;
        buf = Buffer.allocUnsafeSlow(PIECE_BYTES);
        fill = 0;
      }
    }
  }
  if (fill > 0) yield buf.subarray(0, fill);
}

/**
 * The worker's side: the ciphertext as a stream, and its SHA-256 (from the main thread) as the
 * digest its Measure stage checks against the manifest.
 */
export class CipherInput extends Readable implements RemoteDigest {
  private readonly giveCredit: () => void;
  /** Pieces the stream took while over its high-water mark: their credits go back on the next read. */
  private owed = 0;
  private resolveDigest!: (sha256: string) => void;
  private readonly sha256 = new Promise<string>((resolve) => (this.resolveDigest = resolve));

  constructor(giveCredit: () => void) {
    super({ highWaterMark: PIECE_BYTES });
    this.giveCredit = giveCredit;
  }

  receive(m: CipherMessage): void {
    if (m.type === 'cipherError') return void this.destroy(new Error(`reading the stored object failed: ${m.message}`));
    if (m.type === 'cipherEnd') {
      this.resolveDigest(m.sha256);
      this.push(null);
      return;
    }
    // The only view of its memory: the decrypt stage frees it once opened (memory.ts).
    if (this.push(Buffer.from(m.data, 0, m.length))) this.giveCredit();
    else this.owed++;
  }

  override _read(): void {
    for (; this.owed > 0; this.owed--) this.giveCredit();
  }

  /** Hashing happens on the main thread: nothing to do per piece. */
  update(): undefined {
    return undefined;
  }

  digest(): Promise<string> {
    return this.sha256;
  }
}
