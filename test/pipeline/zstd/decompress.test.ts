// The frame-aware zstd decoder: Lifeboat's own multi-frame payloads, one long frame as written by the
// zstd CLI from a pipe (and by Lifeboat before it wrote frames), frames concatenated with `cat`,
// skippable frames, any cut of the input into pieces; truncated and foreign input fail clearly.
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { buffer } from 'node:stream/consumers';
import { constants as zlib, createZstdCompress, zstdCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ParallelZstdCompress } from '../../../src/pipeline/zstd/compress.ts';
import { ParallelZstdDecompress } from '../../../src/pipeline/zstd/decompress.ts';
import { FrameParser } from '../../../src/pipeline/zstd/frame-parser.ts';
import { prng } from '../../helpers/prng.ts';
import { run, through } from '../../helpers/streams.ts';

function sample(size: number, seed = 1): Buffer {
  const rand = prng(seed);
  const parts: Buffer[] = [];
  let n = 0;
  for (let i = 0; n < size; i++) {
    const p = rand() < 0.4 ? randomBytes(1 + Math.floor(rand() * 50_000)) : Buffer.from(`row ${i}: ${'abc'.repeat(1 + Math.floor(rand() * 500))}\n`);
    parts.push(p);
    n += p.length;
  }
  return Buffer.concat(parts).subarray(0, size);
}

/** Feeds `z` to a fresh decoder in pieces whose sizes come from `seed` (1 to `max` bytes). */
async function decode(z: Buffer, seed: number, max: number, workers?: number): Promise<Buffer> {
  const rand = prng(seed);
  const pieces: Buffer[] = [];
  for (let off = 0; off < z.length; ) {
    const n = 1 + Math.floor(rand() * max);
    pieces.push(z.subarray(off, off + n));
    off += n;
  }
  return buffer(Readable.from(pieces).pipe(new ParallelZstdDecompress(workers === undefined ? {} : { workers })));
}

describe('ParallelZstdDecompress', () => {
  it("decodes Lifeboat's multi-frame output, whatever the pieces it arrives in", async () => {
    const input = sample(6_000_000);
    const z = await through(new ParallelZstdCompress({ level: 3, frameBytes: 512 << 10 }), input, 1 << 20);
    for (const [seed, max, workers] of [
      [1, 1 << 20, undefined],
      [2, 64 << 10, 1],
    ] as const) {
      expect((await decode(z, seed, max, workers)).equals(input), `pieces up to ${max} bytes`).toBe(true);
    }
    // Pieces of a few bytes, so that headers are cut everywhere (a smaller stream: it is slow).
    const small = sample(400_000, 9);
    const zs = await through(new ParallelZstdCompress({ level: 3, frameBytes: 64 << 10 }), small);
    expect((await decode(zs, 3, 17, 3)).equals(small)).toBe(true);
  }, 60_000);

  it('decodes one long frame without a content size (zstd CLI from a pipe, earlier Lifeboat payloads)', async () => {
    const input = sample(3_000_000, 2);
    const fromCli = await run('zstd', ['-3', '-q', '-c'], input);
    expect((await decode(fromCli, 4, 100_000)).equals(input)).toBe(true);
    const fromNodeStream = await through(createZstdCompress({ params: { [zlib.ZSTD_c_compressionLevel]: 3 } }), input);
    expect((await decode(fromNodeStream, 5, 300_000)).equals(input)).toBe(true);
  }, 60_000);

  it('long frames one after another reach a slow reader whole (backpressure, no stall between frames)', async () => {
    const a = sample(3_000_000, 5);
    const b = sample(2_000_000, 6);
    const z = Buffer.concat([await run('zstd', ['-3', '-q', '-c'], a), await run('zstd', ['-1', '-q', '-c'], b)]);
    const parts: Buffer[] = [];
    for (let off = 0; off < z.length; off += 65_536) parts.push(z.subarray(off, off + 65_536));
    const out: Buffer[] = [];
    await pipeline(
      Readable.from(parts),
      new ParallelZstdDecompress(),
      new Writable({ highWaterMark: 1 << 16, write: (c: Buffer, _e, cb) => (out.push(c), setTimeout(cb, 1)) }),
    );
    expect(Buffer.concat(out).equals(Buffer.concat([a, b]))).toBe(true);
  }, 60_000);

  it('our own frames record their content size (so they decompress in parallel)', async () => {
    const z = await through(new ParallelZstdCompress({ level: 3, frameBytes: 1 << 20 }), sample(1_500_000, 8));
    const events = new FrameParser().feed(z).filter((e) => e.kind === 'start');
    expect(events).toEqual([{ kind: 'start', contentSize: 1 << 20 }, { kind: 'start', contentSize: 1_500_000 - (1 << 20) }]);
  });

  it('decodes frames concatenated in one piece, and skips skippable frames', async () => {
    const a = Buffer.from('first frame\n');
    const b = sample(200_000, 3);
    const skippable = Buffer.alloc(8 + 5, 0x55);
    skippable.writeUInt32LE(0x184d2a53, 0);
    skippable.writeUInt32LE(5, 4);
    const z = Buffer.concat([zstdCompressSync(a), skippable, zstdCompressSync(b), await run('zstd', ['-q', '-c'], a)]);
    const expected = Buffer.concat([a, b, a]);
    expect((await decode(z, 6, z.length)).equals(expected)).toBe(true);
    expect((await decode(z, 7, 3)).equals(expected)).toBe(true);
    // Stock zstd agrees.
    expect((await run('zstd', ['-d', '-q', '-c'], z)).equals(expected)).toBe(true);
  });

  it('a stream cut inside a frame fails as truncated; bytes that are not zstd fail as such', async () => {
    const z = await through(new ParallelZstdCompress({ level: 3, frameBytes: 256 << 10 }), sample(1_000_000, 4));
    await expect(decode(z.subarray(0, z.length - 3), 8, 65_536)).rejects.toThrow(/ends inside a frame: the payload is truncated/);
    await expect(decode(z.subarray(0, 300_000), 9, 65_536)).rejects.toThrow(/truncated/);
    await expect(decode(Buffer.from('PGDMP not compressed at all'), 10, 100)).rejects.toThrow(/not a zstd stream after 0 frame\(s\)/);
    await expect(decode(Buffer.alloc(0), 11, 100)).rejects.toThrow(/truncated/);
    // A flipped bit inside a frame: zstd's own checks catch it (checksum or corrupt block).
    const flipped = Buffer.from(z);
    flipped[Math.floor(z.length / 2)]! ^= 0x10;
    await expect(decode(flipped, 12, 65_536)).rejects.toThrow();
  });

  it('keeps what it buffers bounded when one piece of input holds many frames (zeros: 1 MiB in ~60 bytes)', async () => {
    const z = await through(new ParallelZstdCompress({ level: 3, frameBytes: 1 << 20 }), Buffer.alloc(96 << 20));
    expect(z.length).toBeLessThan(64 << 10);
    const dec = new ParallelZstdDecompress({ workers: 2 });
    let most = 0;
    let total = 0;
    // A consumer slower than the decoder, as tar or pg_restore writing to disk is.
    const slow = new Writable({
      highWaterMark: 1 << 20,
      write(chunk: Buffer, _enc, cb) {
        most = Math.max(most, dec.readableLength);
        total += chunk.length;
        setTimeout(cb, 1);
      },
    });
    await pipeline(Readable.from([z]), dec, slow);
    expect(total).toBe(96 << 20);
    // Its own 1 MiB buffer and the frame that went over it; not the 96 frames the piece held.
    expect(most).toBeLessThanOrEqual(3 << 20);
  });

  it("checks each frame's content checksum: a restore relies on it for the plaintext (restore.ts)", async () => {
    const z = await through(new ParallelZstdCompress({ level: 3, frameBytes: 256 << 10 }), sample(1_000_000, 4));
    // The last four bytes are the last frame's checksum; the data before them is intact.
    const wrong = Buffer.from(z);
    wrong[wrong.length - 1]! ^= 0x01;
    await expect(decode(wrong, 13, 65_536)).rejects.toThrow(/a zstd frame does not decompress: .*checksum/);
  });
});
