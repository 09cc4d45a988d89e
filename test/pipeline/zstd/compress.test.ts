// Parallel zstd frames: whatever the input's pieces and however the workers finish, the output is
// the input's frames in order, one zstd stream that stock `zstd -d` and Lifeboat's decoder both read.
// (node:zlib's own one-shot and streaming decoders stop after the first frame: nodejs/node#64741.)
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { ParallelZstdCompress } from '../../../src/pipeline/zstd/compress.ts';
import { ParallelZstdDecompress } from '../../../src/pipeline/zstd/decompress.ts';
import { spawnProducer } from '../../../src/sources/child.ts';
import { prng } from '../../helpers/prng.ts';
import { execFileP, run, through } from '../../helpers/streams.ts';

/** Text and random bytes mixed, so that frames take different times to compress. */
function mixed(size: number): Buffer {
  const parts: Buffer[] = [];
  let n = 0;
  for (let i = 0; n < size; i++) {
    const p = i % 3 === 0 ? randomBytes(70_000) : Buffer.from(`line ${i} of the backup log, mostly alike\n`.repeat(3000));
    parts.push(p);
    n += p.length;
  }
  return Buffer.concat(parts).subarray(0, size);
}

/** The frames of a zstd stream and their checksum kind, as the stock CLI lists them. */
async function listing(z: Buffer): Promise<{ frames: number; check: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-frames-'));
  try {
    await writeFile(join(dir, 'p.zst'), z);
    const out = (await execFileP('zstd', ['-lv', join(dir, 'p.zst')])).stdout;
    return { frames: Number(/# Zstandard Frames: (\d+)/.exec(out)?.[1]), check: /Check: (\S+)/.exec(out)?.[1] ?? '' };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('ParallelZstdCompress', () => {
  it('writes frames in input order that stock zstd and node:zlib decode to the input', async () => {
    const input = mixed(9_000_000);
    const z = await through(new ParallelZstdCompress({ level: 3, frameBytes: 1 << 20, workers: 3 }), input, 65_536);
    expect(z.length).toBeLessThan(input.length);
    expect((await through(new ParallelZstdDecompress(), z)).equals(input)).toBe(true);
    expect((await run('zstd', ['-d', '-c', '-q'], z)).equals(input)).toBe(true);
  });

  it('keeps the order when pieces arrive in odd sizes and one worker is used', async () => {
    const rand = prng(7);
    const input = mixed(3_000_000);
    const pieces: Buffer[] = [];
    for (let off = 0; off < input.length; ) {
      const n = 1 + Math.floor(rand() * 300_000);
      pieces.push(input.subarray(off, off + n));
      off += n;
    }
    for (const workers of [1, 4]) {
      const out: Buffer[] = [];
      await pipeline(
        Readable.from(pieces),
        new ParallelZstdCompress({ level: 1, frameBytes: 256 << 10, workers }),
        new Writable({ write: (c: Buffer, _e, cb) => (out.push(c), cb()) }),
      );
      expect((await run('zstd', ['-d', '-c', '-q'], Buffer.concat(out))).equals(input)).toBe(true);
    }
  });

  it('an empty input is one empty frame (a zero-byte file is not a zstd stream)', async () => {
    const z = await through(new ParallelZstdCompress({ level: 3 }), Buffer.alloc(0));
    expect(z.length).toBeGreaterThan(0);
    expect((await run('zstd', ['-d', '-c', '-q'], z)).length).toBe(0);
  });

  it('cuts the stream into frames of the given size, each with a checksum', async () => {
    const input = mixed(5 << 20);
    const z = await through(new ParallelZstdCompress({ level: 3, frameBytes: 1 << 20 }), input, 1 << 20);
    expect(await listing(z)).toEqual({ frames: 5, check: 'XXH64' });
  });

  it('holds input back while every worker is busy (bounded memory)', async () => {
    const t = new ParallelZstdCompress({ level: 19, frameBytes: 1 << 20, workers: 2 });
    let accepted = 0;
    const src = Readable.from(
      (function* () {
        for (let i = 0; i < 40; i++) {
          accepted++;
          yield mixed(1 << 20);
        }
      })(),
    );
    // A consumer that never reads: the compressor must stop taking input after a few frames.
    t.on('error', () => {});
    src.on('error', () => {});
    src.pipe(t);
    await new Promise((r) => setTimeout(r, 1500));
    expect(accepted).toBeLessThan(12);
    src.destroy();
    t.destroy();
  });
});

// A producer's output read straight into the frames: the next frame goes on filling while every
// worker is busy, and a full frame then waits for one; order and bounds hold all the same.
describe('ParallelZstdCompress reading a producer directly', () => {
  it('keeps the frames in order while reading ahead of busy workers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lifeboat-direct-'));
    try {
      const input = mixed(12 << 20);
      await writeFile(join(dir, 'in'), input);
      const p = spawnProducer({ cmd: 'cat', args: [join(dir, 'in')], what: 'cat (test)' }, new AbortController().signal);
      let observed = 0;
      // Level 19 is far slower than reading: every frame after the first two is read ahead.
      const t = new ParallelZstdCompress({ level: 19, frameBytes: 1 << 20, workers: 2 });
      const out: Buffer[] = [];
      await pipeline(
        t.readFrom(p.stream, (piece) => void (observed += piece.length), () => {}),
        new Writable({
          write(chunk: Buffer, _e, cb) {
            out.push(chunk);
            cb();
          },
        }),
      );
      await p.done;
      expect(observed).toBe(input.length);
      expect((await run('zstd', ['-dc'], Buffer.concat(out))).equals(input)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stops reading when nobody takes its output (bounded memory)', async () => {
    const p = spawnProducer({ cmd: 'head', args: ['-c', String(256 << 20), '/dev/urandom'], what: 'head (test)' }, new AbortController().signal);
    let observed = 0;
    const t = new ParallelZstdCompress({ level: 1, frameBytes: 1 << 20, workers: 2 });
    t.on('error', () => {});
    t.readFrom(p.stream, (piece) => void (observed += piece.length), () => {});
    await new Promise((r) => setTimeout(r, 1500));
    // Two frames compressed and queued, one pushed, one ready, one filling: never the whole input.
    expect(observed).toBeLessThan(8 << 20);
    t.destroy();
    p.stream.destroy();
    await p.done.catch(() => {});
  });
});

// Adaptive: one worker while the source is slower than compression, more while it waits.
describe('ParallelZstdCompress, adaptive', () => {
  /** Feeds `pieces` (with a pause before each, in ms) and records the threads in use at each output frame. */
  async function feed(t: ParallelZstdCompress, pieces: { data: Buffer; pauseMs: number }[]): Promise<{ out: Buffer; threads: number[] }> {
    const out: Buffer[] = [];
    const threads: number[] = [];
    await pipeline(
      Readable.from(
        (async function* () {
          for (const p of pieces) {
            if (p.pauseMs) await new Promise((r) => setTimeout(r, p.pauseMs));
            yield p.data;
          }
        })(),
      ),
      t,
      new Writable({
        write(chunk: Buffer, _e, cb) {
          out.push(chunk);
          threads.push(t.threadsInUse);
          cb();
        },
      }),
    );
    return { out: Buffer.concat(out), threads };
  }

  const frame = 128 << 10;
  const text = (i: number): Buffer => Buffer.from(`row ${i}: a table's line of text, much like the ones around it\n`.repeat(2200)).subarray(0, frame);

  it('stays at one worker while the source is the slower side', async () => {
    const pieces = Array.from({ length: 24 }, (_, i) => ({ data: text(i), pauseMs: 15 }));
    const t = new ParallelZstdCompress({ level: 1, frameBytes: frame, workers: 4, adaptive: true });
    const { out, threads } = await feed(t, pieces);
    expect(Math.max(...threads)).toBe(1);
    expect((await run('zstd', ['-dc'], out)).equals(Buffer.concat(pieces.map((p) => p.data)))).toBe(true);
  });

  it('adds workers while the source waits for compression, and drops them only after it stopped waiting for a while', async () => {
    // Level 19 takes ~10 ms or more a frame: 32 frames at once keep every worker busy; then frames
    // 60 ms apart leave them idle. A worker goes after 4 windows of 8 frames without a wait.
    const data = mixed(104 * frame);
    const piece = (i: number): Buffer => data.subarray(i * frame, (i + 1) * frame);
    const burst = Array.from({ length: 32 }, (_, i) => ({ data: piece(i), pauseMs: 0 }));
    const trickle = Array.from({ length: 72 }, (_, i) => ({ data: piece(32 + i), pauseMs: 60 }));
    const t = new ParallelZstdCompress({ level: 19, frameBytes: frame, workers: 3, adaptive: true });
    const { out, threads } = await feed(t, [...burst, ...trickle]);
    expect(Math.max(...threads.slice(0, 32))).toBe(3);
    // A short slow stretch keeps the workers (a files source passing many small files).
    expect(threads[32 + 16]).toBe(3);
    expect(threads.at(-1)).toBe(1);
    expect((await run('zstd', ['-dc'], out)).equals(Buffer.concat([...burst, ...trickle].map((p) => p.data)))).toBe(true);
  }, 30_000);

  it('keeps a fixed number of workers when not adaptive', () => {
    expect(new ParallelZstdCompress({ level: 3, workers: 3 }).threadsInUse).toBe(3);
    expect(new ParallelZstdCompress({ level: 3, workers: 3, adaptive: true }).threadsInUse).toBe(1);
  });
});
