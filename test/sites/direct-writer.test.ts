import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { constants } from 'node:fs';
import { mkdtemp, open, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectWriter, openForDirectWrite } from '../../src/sites/fs/direct-writer.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-direct-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `data` cut into pieces of the given sizes, in turn. */
function pieces(data: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const n = sizes[i % sizes.length]!;
    out.push(data.subarray(at, at + n));
    at += n;
  }
  return out;
}

const openFds = async (): Promise<number> => (await readdir('/proc/self/fd')).length;

describe('DirectWriter', () => {
  it('writes exactly what it is given, whatever the sizes of the stream and of its pieces', async () => {
    // Around the 4 KiB block and the 1 MiB slot: padding and the cut-back must leave no trace.
    for (const size of [0, 1, 4095, 4096, 4097, (1 << 20) - 1, 1 << 20, 3 * (1 << 20) + 17, 7 * (1 << 20) + 4096]) {
      const data = randomBytes(size);
      const path = join(dir, `f${size}`);
      const opened = await openForDirectWrite(path);
      expect(opened.direct).toBe(true);
      await pipeline(Readable.from(pieces(data, [65552, 7, 1 << 20, 300_000])), new DirectWriter(opened, path));
      expect((await readFile(path)).equals(data)).toBe(true);
    }
  });

  it('keeps the payload out of the page cache', async () => {
    const data = randomBytes(16 << 20);
    const path = join(dir, 'payload');
    await pipeline(Readable.from(pieces(data, [65552])), new DirectWriter(await openForDirectWrite(path), path));
    // fincore (util-linux): bytes of the file resident in the page cache.
    const resident = Number(execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', path]).toString().trim());
    expect(resident).toBeLessThan(1 << 20);
    expect((await readFile(path)).equals(data)).toBe(true);
  });

  it('writes through the page cache where O_DIRECT is not available', async () => {
    const data = randomBytes(2 * (1 << 20) + 123);
    const path = join(dir, 'buffered');
    const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    await pipeline(Readable.from(pieces(data, [4000])), new DirectWriter({ fh, direct: false }, path));
    expect((await readFile(path)).equals(data)).toBe(true);
  });

  it('goes on through the page cache when the filesystem refuses direct writes after the open', async () => {
    // No filesystem here accepts an O_DIRECT open and then refuses its aligned writes (a device
    // with blocks over 4 KiB would), so the descriptor is a real file's, wrapped to answer its
    // first write as such a filesystem does.
    const data = randomBytes(3 * (1 << 20) + 5);
    const path = join(dir, 'refused');
    const { fh } = await openForDirectWrite(path);
    let refused = 0;
    const refusing = new Proxy(fh, {
      get(target, prop, receiver) {
        if (prop === 'write' && refused === 0) {
          return () => {
            refused++;
            return Promise.reject(Object.assign(new Error('EINVAL: invalid argument, write'), { code: 'EINVAL' }));
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const before = await openFds();
    await pipeline(Readable.from(pieces(data, [65552])), new DirectWriter({ fh: refusing, direct: true }, path));
    expect(refused).toBe(1);
    expect((await readFile(path)).equals(data)).toBe(true);
    expect(await openFds()).toBeLessThan(before);
  });

  it('closes the file when the stream fails part-way', async () => {
    const path = join(dir, 'failed');
    const before = await openFds();
    const writer = new DirectWriter(await openForDirectWrite(path), path);
    const source = new Readable({ read() {} });
    const done = pipeline(source, writer);
    source.push(randomBytes(3 << 20));
    source.destroy(new Error('the dump failed'));
    await expect(done).rejects.toThrow('the dump failed');
    if (!writer.closed) await once(writer, 'close');
    expect(await openFds()).toBeLessThanOrEqual(before);
  });
});
