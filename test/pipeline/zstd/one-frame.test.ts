// One zstd frame through one stream, and freeing a buffer's memory at once (memory.ts).
import { randomBytes } from 'node:crypto';
import { zstdDecompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { handOver, release, releaseHandedOver } from '../../../src/memory.ts';
import { compressFrame, decompressFrame } from '../../../src/pipeline/zstd/one-frame.ts';

const data = Buffer.concat([randomBytes(300_000), Buffer.alloc(700_000, 'lifeboat ')]);

describe('one frame', () => {
  it('compresses into one buffer that stock zstd decodes, and decompresses it back', async () => {
    const frame = await compressFrame(data, { level: 3, outBytes: data.length, checksum: true });
    expect(zstdDecompressSync(frame).equals(data)).toBe(true);
    expect((await decompressFrame(frame, data.length)).equals(data)).toBe(true);
  });

  it('hands out the output buffer itself, not a copy, though zstd delivers it in pieces', async () => {
    // The stream's own buffer (outBytes, or one byte more than the frame's size) under a view of
    // the result: joining the pieces into a copy left that buffer for the collector.
    const frame = await compressFrame(data, { level: 3, outBytes: 1 << 20, checksum: true });
    expect(frame.buffer.byteLength).toBe(1 << 20);
    expect(frame.byteOffset).toBe(0);
    const plain = await decompressFrame(frame, data.length);
    expect(plain.buffer.byteLength).toBe(data.length + 1);
    expect(plain.equals(data)).toBe(true);
  });

  it('joins the pieces when the output buffer was sized too small', async () => {
    const frame = await compressFrame(data, { level: 3, outBytes: 64 << 10, checksum: true });
    expect(zstdDecompressSync(frame).equals(data)).toBe(true);
    // A copy of its own: the stream's buffers were freed once it had ended.
    expect(frame.buffer.byteLength).toBe(frame.length);
  });

  it('refuses a frame that holds more than its stated size, and one that is damaged', async () => {
    const frame = await compressFrame(data, { level: 3, outBytes: data.length, checksum: true });
    await expect(decompressFrame(frame, data.length - 1)).rejects.toThrow(/larger than/);
    const damaged = Buffer.from(frame);
    damaged[damaged.length - 2]! ^= 0xff;
    await expect(decompressFrame(damaged, data.length)).rejects.toThrow();
  });
});

describe('release', () => {
  it('frees a buffer that spans its own memory, and leaves slices and the shared pool alone', () => {
    const own = Buffer.allocUnsafeSlow(1 << 20);
    release(own);
    expect(own.length).toBe(0);

    const big = Buffer.allocUnsafeSlow(1 << 20);
    const slice = big.subarray(0, 1000);
    release(slice);
    expect(big.length).toBe(1 << 20);

    const pooled = Buffer.allocUnsafe(100);
    release(pooled, { wholeMemory: true });
    expect(pooled.length).toBe(100);
  });

  it('frees a slice when the caller vouches for the memory around it', () => {
    const big = Buffer.allocUnsafeSlow(1 << 20);
    const slice = big.subarray(0, 1000);
    release(slice, { wholeMemory: true });
    expect(big.length).toBe(0);
  });
});

describe('hand-over', () => {
  it('frees only buffers handed over as the only view of their memory, and only once', () => {
    const big = Buffer.allocUnsafeSlow(1 << 20);
    const handed = handOver(big.subarray(0, 1000));
    const other = Buffer.allocUnsafeSlow(1 << 20);
    releaseHandedOver(other);
    expect(other.length).toBe(1 << 20);
    releaseHandedOver(handed);
    expect(big.length).toBe(0);
    expect(() => releaseHandedOver(handed)).not.toThrow();
  });
});
