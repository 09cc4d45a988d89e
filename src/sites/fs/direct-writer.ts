/**
 * Writes a stream into a file opened with O_DIRECT, so that a payload goes from this process's
 * memory to the device without passing through the page cache.
 *
 * Why: a backup writes each payload once per site and never reads it back, yet buffered writes
 * copy every byte into the page cache and evict what the machine's other programs (a database
 * next to us) keep there. On a 2-core VM the copies cost 1.5–2.7 CPU-s per GiB written, against
 * ~0.1 with O_DIRECT (bench/README.md, "8 GiB to two fs sites").
 *
 * Why by hand: O_DIRECT needs the memory address, the file offset and the length of each write
 * aligned to the device's block, and neither `fs.WriteStream` (it writes chunks as they come) nor
 * Node's Buffer allocation (no alignment) gives that. The stream is gathered into 1 MiB slots of a
 * WebAssembly.Memory, whose backing store starts on a page boundary, and each full slot is written
 * at its offset. The last, partial slot is written padded to the block and the file cut back to
 * its length. Where the filesystem refuses O_DIRECT (EINVAL: tmpfs on older kernels, some network
 * and FUSE filesystems), the same writes go through a buffered descriptor instead.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';

const SLOT = 1 << 20;
/** One slot fills while the others are written. */
const SLOTS = 3;
/** The largest logical block size of common devices; a multiple of the smaller ones. */
const BLOCK = 4096;

/** Buffered writes: an fdatasync every so many bytes (see flushSome). */
const FLUSH_EVERY = 32 << 20;

const roundUp = (n: number): number => Math.ceil(n / BLOCK) * BLOCK;

// The project's TypeScript libraries declare WebAssembly's types but not its global object.
type WasmMemory = new (d: { initial: number; maximum: number }) => { readonly buffer: ArrayBuffer };
const { Memory } = (globalThis as unknown as { WebAssembly: { Memory: WasmMemory } }).WebAssembly;

function alignedSlots(): Buffer[] {
  try {
    const memory = new Memory({ initial: (SLOT * SLOTS) / 65536, maximum: (SLOT * SLOTS) / 65536 });
    return Array.from({ length: SLOTS }, (_, i) => Buffer.from(memory.buffer, i * SLOT, SLOT));
  } catch {
    // No address space for it (a `ulimit -v`, say): plain buffers, written through the page cache.
    return [];
  }
}

/** Opens `path` (a new file) for a DirectWriter: with O_DIRECT where it can. */
export async function openForDirectWrite(path: string): Promise<{ fh: FileHandle; direct: boolean }> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;
  try {
    return { fh: await open(path, flags | constants.O_DIRECT, 0o644), direct: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
    return { fh: await open(path, flags, 0o644), direct: false };
  }
}

export class DirectWriter extends Writable {
  private fh: FileHandle;
  private readonly path: string;
  private direct: boolean;
  private readonly free: Buffer[];
  private current: Buffer;
  private fill = 0;
  /** The file offset where `current` goes. */
  private position = 0;
  private readonly writing = new Set<Promise<void>>();
  private failure?: Error;
  /** A write waiting for a free slot. */
  private waiting?: () => void;
  /** Descriptors given up for a buffered one (see writeAt), closed with the writer. */
  private readonly retired: FileHandle[] = [];
  private reopened?: Promise<void>;
  private flushing = false;
  private flushedAt = 0;

  /** `fh` as openForDirectWrite opened `path`; the writer closes it, after an fsync on success. */
  constructor(opened: { fh: FileHandle; direct: boolean }, path: string) {
    super({ highWaterMark: SLOT });
    this.fh = opened.fh;
    this.path = path;
    const slots = alignedSlots();
    // Without aligned slots a direct write fails at once (EINVAL) and the writer goes buffered.
    this.direct = opened.direct;
    this.free = slots.length > 0 ? slots : Array.from({ length: SLOTS }, () => Buffer.allocUnsafeSlow(SLOT));
    this.current = this.free.pop()!;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.copyIn(chunk, 0, cb);
  }

  private copyIn(chunk: Buffer, offset: number, cb: (err?: Error | null) => void): void {
    while (offset < chunk.length) {
      if (this.failure) return cb(this.failure);
      if (this.fill === SLOT) {
        const next = this.free.pop();
        if (!next) {
          this.waiting = () => this.copyIn(chunk, offset, cb);
          return;
        }
        this.submit(next);
      }
      const n = chunk.copy(this.current, this.fill, offset);
      this.fill += n;
      offset += n;
    }
    cb();
  }

  /** Starts writing the current slot and goes on filling `next`. */
  private submit(next: Buffer): void {
    const slot = this.current;
    const length = this.fill;
    const position = this.position;
    this.current = next;
    this.fill = 0;
    this.position += length;
    const done = this.writeAt(slot, length, position).then(
      () => {
        this.free.push(slot);
        this.flushSome();
      },
      (err: Error) => {
        this.failure ??= err;
      },
    );
    const tracked = done.finally(() => {
      this.writing.delete(tracked);
      const wake = this.waiting;
      this.waiting = undefined;
      wake?.();
    });
    this.writing.add(tracked);
  }

  /** Writes `length` bytes of `slot` at `position`, padded to the block when direct. */
  private async writeAt(slot: Buffer, length: number, position: number): Promise<void> {
    let size = length;
    if (this.direct && length % BLOCK !== 0) {
      size = roundUp(length);
      slot.fill(0, length, size);
    }
    let written = 0;
    while (written < size) {
      // Another write may switch to buffered meanwhile: what counts is how this one was made.
      const direct = this.direct;
      try {
        const { bytesWritten } = await this.fh.write(slot, written, size - written, position + written);
        written += bytesWritten;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL' || !direct) throw err;
        // The filesystem took the O_DIRECT open but not its writes (an alignment larger than a
        // page, say): the rest goes through the page cache; what was written is already in place.
        await this.buffered();
        size = length;
      }
    }
  }

  /** Goes on with a descriptor without O_DIRECT, once for every write that found it refused. */
  private buffered(): Promise<void> {
    this.reopened ??= (async () => {
      this.direct = false;
      this.retired.push(this.fh);
      this.fh = await open(this.path, constants.O_WRONLY);
    })();
    return this.reopened;
  }

  /**
   * Buffered writes only: starts an fdatasync every FLUSH_EVERY bytes, one at a time, without
   * waiting for it. The kernel otherwise holds a whole payload as dirty pages (gigabytes, on a
   * machine with memory) and the final fsync writes all of it while the backup waits; flushing as
   * it goes lets the disk work while the data is compressed, and keeps dirty memory small.
   * Errors surface at the final fsync, which waits for everything.
   */
  private flushSome(): void {
    if (this.direct || this.flushing || this.position - this.flushedAt < FLUSH_EVERY) return;
    this.flushing = true;
    this.flushedAt = this.position;
    this.fh.datasync().then(
      () => (this.flushing = false),
      () => (this.flushing = false),
    );
  }

  override _final(cb: (err?: Error | null) => void): void {
    const finish = async (): Promise<void> => {
      await Promise.all(this.writing);
      if (this.failure) throw this.failure;
      const total = this.position + this.fill;
      if (this.fill > 0) await this.writeAt(this.current, this.fill, this.position);
      // Cuts off the last block's padding (only a direct write pads).
      if (total % BLOCK !== 0) await this.fh.truncate(total);
      await this.fh.sync();
    };
    finish().then(() => cb(), (err: Error) => cb(err));
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    void Promise.allSettled([...this.writing, this.reopened])
      .then(() => Promise.allSettled([this.fh, ...this.retired].map((fh) => fh.close())))
      .then(
        () => cb(err),
        () => cb(err),
      );
  }
}
