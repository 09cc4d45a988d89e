/**
 * One zstd frame compressed or decompressed on libuv's thread pool, into one output buffer.
 *
 * Why not node:zlib's one-shot `zstdCompress`/`zstdDecompress`: they gather the output and copy it
 * into a new buffer at the end, so every frame allocated its output twice — a megabyte or two of
 * garbage per frame, and V8 starts a full garbage collection for every ~64 MiB of such memory
 * (measured: 256 frames of 2 MiB, 16 collections one-shot, 0 this way when the output is freed
 * after use). A stream per frame with an output buffer larger than the frame's result writes it
 * into that one buffer, and the result is the only view of its memory: the next stage may free it
 * (memory.ts) as soon as it has copied it.
 *
 * The stream hands its output out in several pieces even then (node:zlib emits what each of its
 * calls into zstd produced; every compressed frame of a 1 GiB backup came in 2 or more). The
 * pieces lie one after another in the output buffer, so the result is one view over them
 * (joined(), below) — not a copy, which left the pieces' buffer, a frame's worth of memory, for
 * the collector: ~1 GB per GiB backed up, a full collection every ~0.3 s (bench/README.md, "A
 * sixteenth machine").
 */
import { release } from '../../memory.ts';
import { constants as zlibConstants, createZstdCompress, createZstdDecompress, type ZstdCompress, type ZstdDecompress } from 'node:zlib';

function run(stream: ZstdCompress | ZstdDecompress, input: Buffer, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    let length = 0;
    stream.on('data', (b: Buffer) => {
      length += b.length;
      if (length > limit) stream.destroy(new RangeError(`the output is larger than ${limit} bytes`));
      else out.push(b);
    });
    stream.once('error', reject);
    stream.once('end', () => resolve(joined(out, length)));
    stream.end(input);
  });
}

/** Compresses `input` as one frame whose header records its size; `outBytes` sizes the output buffer. */
export function compressFrame(input: Buffer, o: { level: number; outBytes: number; checksum: boolean }): Promise<Buffer> {
  const stream = createZstdCompress({
    chunkSize: o.outBytes,
    pledgedSrcSize: input.length,
    params: { [zlibConstants.ZSTD_c_compressionLevel]: o.level, [zlibConstants.ZSTD_c_checksumFlag]: o.checksum ? 1 : 0 },
  });
  return run(stream, input, Number.MAX_SAFE_INTEGER);
}

/** Decompresses one frame whose header says it holds `size` bytes; more output is an error. */
export function decompressFrame(frame: Buffer, size: number): Promise<Buffer> {
  // One byte more than the frame holds: a buffer filled to the last byte would make node:zlib
  // allocate another (unused) one.
  return run(createZstdDecompress({ chunkSize: Math.max(64 << 10, size + 1) }), frame, size);
}

/**
 * The stream's output pieces as one buffer that is the only view of its memory. Pieces that follow
 * each other in one output buffer (the common case: the buffer was sized for the whole result)
 * become one view over that buffer. Otherwise (a result larger than the buffer) they are copied
 * into one, and the stream's buffers, which it no longer uses once it has ended, are freed at once.
 */
function joined(out: Buffer[], length: number): Buffer {
  const first = out[0];
  if (!first) return Buffer.alloc(0);
  let end = first.byteOffset + first.length;
  for (const piece of out.slice(1)) {
    if (piece.buffer !== first.buffer || piece.byteOffset !== end) {
      const whole = Buffer.concat(out, length);
      const seen = new Set<ArrayBufferLike>();
      for (const p of out) {
        if (seen.has(p.buffer)) continue;
        seen.add(p.buffer);
        release(p, { wholeMemory: true });
      }
      return whole;
    }
    end += piece.length;
  }
  return out.length === 1 ? first : Buffer.from(first.buffer, first.byteOffset, length);
}
