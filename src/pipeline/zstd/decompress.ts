/**
 * zstd decompression of a stream of one or more frames (frame-parser.ts finds where each ends).
 *
 * - A frame whose header gives a content size up to `WHOLE_FRAME_LIMIT` (Lifeboat's own frames,
 *   compress.ts) is gathered whole and decompressed in one call on libuv's thread pool, several at
 *   a time, and written out in order.
 * - Any other frame (one long frame from the zstd CLI reading a pipe, or from Lifeboat before it
 *   wrote frames) streams through a decoder of its own, with backpressure.
 *
 * Memory is bounded either way: at most `workers` whole frames (compressed and decompressed) and
 * one waiting to go out, or the streaming decoder's buffers. A finished frame goes out only when
 * the next stage wants more: one 64 KiB piece of input can hold hundreds of frames of a sparse
 * file or an empty table (2 MiB of zeros compress to ~100 bytes), which would otherwise all be
 * decompressed into this stream's buffer at once. A whole frame's output is handed over
 * (memory.ts): the stage that writes it out last may free it at once instead of leaving it to the
 * collector.
 */
import { availableParallelism } from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createZstdDecompress, type ZstdDecompress } from 'node:zlib';
import { LifeboatError } from '../../errors.ts';
import { handOver, release } from '../../memory.ts';
import { FrameParser } from './frame-parser.ts';
import { decompressFrame } from './one-frame.ts';

const WHOLE_FRAME_LIMIT = 32 << 20;

type Current = { readonly mode: 'whole'; readonly size: number; readonly parts: Buffer[] } | { readonly mode: 'stream'; readonly decoder: ZstdDecompress; readonly done: Promise<void> };

export class ParallelZstdDecompress extends Transform {
  private readonly parser = new FrameParser();
  private readonly workers: number;
  /** Whole frames being decompressed, in stream order. */
  private readonly queue: Promise<Buffer>[] = [];
  private current?: Current;
  /** The streaming decoder of the current long frame, until all its output went out. */
  private decoder?: ZstdDecompress;
  /** Wakes a frame waiting to go out once the next stage reads again. */
  private wanted?: () => void;

  constructor(o: { workers?: number } = {}) {
    super({ writableHighWaterMark: 1 << 20, readableHighWaterMark: 1 << 20 });
    this.workers = Math.max(1, o.workers ?? availableParallelism());
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.consume(chunk).then(() => cb(), cb);
  }

  override _flush(cb: TransformCallback): void {
    if (!this.parser.atBoundary()) return cb(new LifeboatError('INTEGRITY', 'the zstd stream ends inside a frame: the payload is truncated'));
    this.drain(0).then(() => cb(), cb);
  }

  override _read(size: number): void {
    // The streaming decoder pauses when this stream's buffer is full; reading resumes it (also
    // after its frame's last bytes went in, while its output drains).
    this.decoder?.resume();
    const wake = this.wanted;
    this.wanted = undefined;
    wake?.();
    super._read(size);
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.decoder?.destroy();
    cb(err);
  }

  private async consume(chunk: Buffer): Promise<void> {
    for (const ev of this.parser.feed(chunk)) {
      if (ev.kind === 'start') {
        if (ev.contentSize !== undefined && ev.contentSize <= WHOLE_FRAME_LIMIT) {
          this.current = { mode: 'whole', size: ev.contentSize, parts: [] };
        } else {
          // Everything before this frame goes out first.
          await this.drain(0);
          const decoder = createZstdDecompress({ chunkSize: 1 << 20 });
          decoder.on('data', (b: Buffer) => {
            if (!this.push(b)) decoder.pause();
          });
          const done = finished(decoder);
          // Awaited at the frame's end; a decoder destroyed with this stream must not be reported as unhandled.
          done.catch(() => {});
          this.current = { mode: 'stream', decoder, done };
          this.decoder = decoder;
        }
      } else if (ev.kind === 'bytes') {
        const c = this.current!;
        if (c.mode === 'whole') c.parts.push(ev.bytes);
        else if (!c.decoder.write(ev.bytes)) await Promise.race([new Promise((r) => c.decoder.once('drain', r)), c.done]);
      } else {
        const c = this.current!;
        this.current = undefined;
        if (c.mode === 'stream') {
          c.decoder.end();
          await c.done;
          this.decoder = undefined;
          continue;
        }
        const gathered = c.parts.length > 1;
        const input = gathered ? Buffer.concat(c.parts) : c.parts[0]!;
        const frame = inflate(input, c.size);
        // A gathered frame is this stage's own copy: freed as soon as it is decompressed.
        if (gathered) void frame.then(() => release(input), () => {});
        // Awaited in order by drain(); this only keeps a failure from being reported as unhandled first.
        frame.catch(() => {});
        this.queue.push(frame);
        await this.drain(this.workers);
      }
    }
  }

  /** Writes out finished frames in order until at most `keep` are still decompressing. */
  private async drain(keep: number): Promise<void> {
    while (this.queue.length > keep) {
      const out = await this.queue[0]!;
      this.queue.shift();
      if (!this.push(out)) await new Promise<void>((resolve) => (this.wanted = resolve));
    }
  }
}

async function inflate(frame: Buffer, size: number): Promise<Buffer> {
  try {
    const out = await decompressFrame(frame, size);
    if (out.length !== size) throw new LifeboatError('INTEGRITY', `a zstd frame decompressed to ${out.length} bytes, its header says ${size}`);
    // The only view of its memory (one-frame.ts): whatever ends its journey may free it.
    return handOver(out);
  } catch (err) {
    if (err instanceof LifeboatError) throw err;
    throw new LifeboatError('INTEGRITY', `a zstd frame does not decompress: ${(err as Error).message}`);
  }
}
