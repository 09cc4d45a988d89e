/**
 * One zstd frame compressed or decompressed on libuv's thread pool, into one output buffer.
 *
 * Why not node:zlib's one-shot `zstdCompress`/`zstdDecompress`: they gather the output and copy it
 * into a new buffer at the end, so every frame allocated its output twice — a megabyte or two of
 * garbage per frame, and V8 starts a full garbage collection for every ~64 MiB of such memory
 * (measured: 256 frames of 2 MiB, 16 collections one-shot, 0 this way when the output is freed
 * after use). A stream per frame with an output buffer larger than the frame's result writes it in
 * one piece, and that piece is the only view of its memory: the next stage may free it
 * (memory.ts) as soon as it has copied it.
 */
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
    // One piece is the common case (the buffer was sized for it); several are joined, which frees
    // them for the collector and keeps the rule: the result is the only view of its memory.
    stream.once('end', () => resolve(out.length === 1 ? out[0]! : Buffer.concat(out, length)));
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
