/**
 * zstd compression on several cores: the stream is cut into frames of `frameBytes` and each frame is
 * compressed on its own (one-frame.ts, on libuv's thread pool), several at a
 * time, and written out in order. Concatenated zstd frames are one valid zstd stream, so stock
 * `zstd -d` (and any decoder) reads the payload as before; the snapshot format does not change.
 *
 * Why by hand: node:zlib's streaming compressor runs one frame on one thread, and the zstd CLI's own
 * worker threads are not reachable from node:zlib (its `ZSTD_c_nbWorkers` needs a libzstd built with
 * multithreading, which Node's is not). Frames of 2 MiB cost about 1.4% in size at level 3 (whose
 * window is 2 MiB anyway) and keep memory small.
 *
 * Memory: at most `workers` frames are compressing at once, and the next one is filled meanwhile
 * (with a producer read directly, one more waits full: a worker that finishes finds the next frame
 * ready instead of waiting for this thread to read one): about (2 × workers + 2) × frameBytes,
 * whatever the stream's length. Frame buffers are reused, so a long stream does not allocate (and
 * page in) fresh memory for every frame. When every worker is busy and the next frame is full,
 * the stream stops taking input (backpressure to the source).
 *
 * Adaptive (`adaptive: true`): how many frames compress at once starts at one and follows the
 * source (adaptive.ts): more while it waits for compression, fewer when it stops waiting.
 */
import { availableParallelism } from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import type { ChildOutput } from '../../sources/child-output.ts';
import { Threads } from './adaptive.ts';
import { compressFrame } from './one-frame.ts';

interface Frame {
  done: boolean;
  out?: Buffer;
}

export interface FrameOptions {
  readonly level: number;
  /** Uncompressed bytes per frame. */
  readonly frameBytes?: number;
  /** Frames compressed at the same time (at most, when adaptive); the machine's cores by default. */
  readonly workers?: number;
  /** Start with one worker and add or drop workers as the source waits or not (above). */
  readonly adaptive?: boolean;
}

export class ParallelZstdCompress extends Transform {
  private readonly level: number;
  private readonly frameBytes: number;
  private readonly workers: number;
  /** Frames that may compress at once: `workers`, or fewer while adaptive. */
  private readonly threads: Threads;
  /** Whether the writer waited for a worker since the last full frame (it is woken only when one is free). */
  private blocked = false;
  /** A full frame read while every worker was busy (direct input), waiting for one. */
  private ready?: Buffer;
  /** The frame being filled, and how far. */
  private current: Buffer;
  private fill = 0;
  /** Frame buffers whose compression finished, ready to fill again (no allocation per frame). */
  private readonly spare: Buffer[] = [];
  private dispatched = false;
  /** The size of the last compressed frame. */
  private lastOut: number;
  /** Frames in input order, compressing or compressed and not yet pushed. */
  private readonly queue: Frame[] = [];
  /** The writer waiting for a free worker. */
  private wake?: () => void;
  /** The end of the stream, waiting for the last frames. */
  private flushed?: () => void;
  /** Restarts a direct source paused for backpressure (readFrom). */
  private resumeSource?: () => void;
  /** Whether downstream wants more than it has (the last push was under its high-water mark). */
  private wanted = false;

  constructor(o: FrameOptions) {
    const frameBytes = o.frameBytes ?? 2 << 20;
    super({ writableHighWaterMark: 1 << 20, readableHighWaterMark: frameBytes });
    this.level = o.level;
    this.frameBytes = frameBytes;
    this.workers = Math.max(1, o.workers ?? availableParallelism());
    this.threads = new Threads(this.workers, o.adaptive ?? false);
    this.current = Buffer.allocUnsafeSlow(this.frameBytes);
    this.lastOut = this.frameBytes;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.copyIn(chunk, 0, cb);
  }

  /**
   * Copies `chunk` from `offset` into frames, dispatching each full one to a free worker. While
   * every worker is busy the next frame is still filled; only a full frame waits (see readFrom).
   */
  private copyIn(chunk: Buffer, offset: number, cb: TransformCallback): void {
    while (offset < chunk.length) {
      if (this.fill === this.frameBytes) {
        if (this.queue.length >= this.threads.limit) {
          // Every worker is busy and the next frame is ready: go on only when one is free.
          this.blocked = true;
          this.wake = () => this.copyIn(chunk, offset, cb);
          return;
        }
        this.dispatch();
      }
      const n = chunk.copy(this.current, this.fill, offset);
      this.fill += n;
      offset += n;
      if (this.fill === this.frameBytes) this.note();
    }
    if (this.fill === this.frameBytes && this.queue.length < this.threads.limit) this.dispatch();
    cb();
  }

  /**
   * Takes input from `source` read straight into frame buffers instead of written to this stream:
   * no copy and no allocation per read. `observe` sees each piece of input as it lands; `onEnd`
   * runs when the source ended, before the last frame is compressed. Returns this stream.
   */
  readFrom(source: ChildOutput, observe: (piece: Buffer) => void, onEnd: () => void): this {
    const reader = source.readInto({
      next: () => this.current.subarray(this.fill),
      got: (n) => {
        observe(this.current.subarray(this.fill, this.fill + n));
        this.fill += n;
        if (this.fill < this.frameBytes) return true;
        this.note();
        if (this.queue.length < this.threads.limit) {
          this.dispatch();
          return true;
        }
        // Full, and every worker busy: it waits as the ready frame (release() dispatches it once a
        // worker is free) and reading pauses. The socket already holds the next read's buffer:
        // a fresh frame, never the full one's empty tail.
        this.ready = this.current;
        this.current = this.spare.pop() ?? Buffer.allocUnsafeSlow(this.frameBytes);
        this.fill = 0;
        return false;
      },
      end: () => {
        onEnd();
        this.end();
      },
      error: (err) => this.destroy(err),
    });
    this.resumeSource = () => reader.resume();
    return this;
  }

  override _read(size: number): void {
    super._read(size);
    // Downstream wants more: frames held back for backpressure (direct input) go out now.
    this.wanted = true;
    if (this.resumeSource) this.release();
  }

  override _flush(cb: TransformCallback): void {
    if (this.ready) {
      this.compress(this.ready, this.frameBytes);
      this.ready = undefined;
    }
    // An empty stream still gets one (empty) frame: a zero-byte payload is not a zstd stream.
    if (this.fill > 0 || !this.dispatched) this.dispatch();
    if (this.queue.length === 0) return cb();
    this.flushed = () => cb();
  }

  /** Counts a frame that just became full: whether the source waited for a worker on its account. */
  private note(): void {
    this.threads.note(this.queue.length >= this.threads.limit || this.blocked);
    this.blocked = false;
  }

  /** Frames compressed at once now. */
  get threadsInUse(): number {
    return this.threads.limit;
  }

  /** Compresses the frame being filled, and starts a new one. */
  private dispatch(): void {
    const buffer = this.current;
    const length = this.fill;
    this.current = this.spare.pop() ?? Buffer.allocUnsafeSlow(this.frameBytes);
    this.fill = 0;
    this.compress(buffer, length);
  }

  private compress(buffer: Buffer, length: number): void {
    const input = buffer.subarray(0, length);
    this.dispatched = true;
    const frame: Frame = { done: false };
    this.queue.push(frame);
    // An output buffer sized from the last frame's result (a little more): data compresses much like
    // the data just before it, and a buffer sized for the worst case would hold a whole frame's worth
    // of memory for each well-compressed frame. When it is too small, zlib adds another and they are
    // joined. Each output is the only view of its memory: the encryption stage frees it once sealed.
    const bound = this.frameBytes + (this.frameBytes >> 7) + (64 << 10);
    const chunkSize = Math.min(bound, Math.max(64 << 10, this.lastOut + (this.lastOut >> 3) + (64 << 10)));
    // The pledged size puts the frame's content size in its header: decoders (ours) can then
    // decompress whole frames in parallel, into buffers of the right size.
    compressFrame(input, { level: this.level, outBytes: chunkSize, checksum: true }).then(
      (out) => {
        this.spare.push(buffer);
        this.lastOut = out.length;
        frame.done = true;
        frame.out = out;
        this.release();
      },
      (err: Error) => this.destroy(err),
    );
  }

  /** Pushes finished frames from the head of the queue, in order, and wakes a waiting writer. */
  private release(): void {
    while (this.queue[0]?.done) {
      // Direct input has no write callbacks to hold it back: after a push that downstream did not
      // want more than, finished frames wait here until Readable asks again (_read).
      if (this.resumeSource && !this.wanted) break;
      this.wanted = this.push(this.queue.shift()!.out);
    }
    // A frame filled while every worker was busy goes to the one just freed.
    if (this.ready && this.queue.length < this.threads.limit) {
      this.compress(this.ready, this.frameBytes);
      this.ready = undefined;
    }
    if (this.fill === this.frameBytes && this.queue.length < this.threads.limit) this.dispatch();
    const wake = this.wake;
    if (wake && this.queue.length < this.threads.limit) {
      this.wake = undefined;
      wake();
    }
    if (this.flushed && this.queue.length === 0) this.flushed();
    if (this.resumeSource && !this.ready) this.resumeSource();
  }
}
