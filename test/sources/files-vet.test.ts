// The tar vetting stage keeps no view of a chunk once it passed it on: the restore worker frees
// each plaintext frame as soon as the consumer's socket has it. Here every chunk is freed right
// after it passed, in pieces cut at awkward places (inside headers, one byte long), and the vetting
// must still see every member, including a hostile one far into the stream.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vetTarStream } from '../../src/sources/files/vet.ts';
import { run } from '../helpers/streams.ts';
import { END, header, padded, paxHeader } from '../helpers/tar-blocks.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-vet-'));
  await mkdir(join(dir, 'tree'));
  for (let i = 0; i < 200; i++) await writeFile(join(dir, 'tree', `f${i}`), 'x'.repeat((i * 977) % 5000));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Cuts `archive` into pieces of varied sizes, each in memory of its own. */
function pieces(archive: Buffer): Buffer[] {
  const sizes = [1, 511, 513, 700, 4096, 3, 10_000, 512, 1];
  const out: Buffer[] = [];
  for (let off = 0, i = 0; off < archive.length; i++) {
    const n = Math.min(sizes[i % sizes.length]!, archive.length - off);
    const own = Buffer.allocUnsafeSlow(n);
    archive.copy(own, 0, off, off + n);
    out.push(own);
    off += n;
  }
  return out;
}

/** Runs the vetting over `archive`, freeing each piece as soon as it passed; returns the bytes that passed. */
async function vetFreeing(archive: Buffer): Promise<number> {
  let passed = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      passed += chunk.length;
      (chunk.buffer as ArrayBuffer).transfer(0);
      cb();
    },
  });
  await pipeline(Readable.from(pieces(archive)), vetTarStream('test'), sink);
  return passed;
}

describe('tar vetting with freed chunks', () => {
  it('passes a clean archive whole', async () => {
    const archive = await run('tar', ['-cf', '-', '-C', dir, 'tree']);
    expect(await vetFreeing(archive)).toBe(archive.length);
  });

  it('still finds a hostile member after many freed chunks', async () => {
    const archive = await run('tar', ['-cf', '-', '-C', dir, 'tree', '--transform', 's,^tree/f199$,../f199,']);
    await expect(vetFreeing(archive)).rejects.toThrow(/"\.\.\/f199" points outside the target/);
  });
});

// What GNU tar never writes for a files backup, or what readers disagree on, is refused by name.
describe('tar vetting of hand-made archives', () => {
  const file = (name: string, body = 'x'): Buffer => Buffer.concat([header({ name, type: '0', size: body.length }), padded(Buffer.from(body))]);
  const cases: [string, Buffer, RegExp][] = [
    ['a pax path that leaves the target behind a harmless ustar name', Buffer.concat([paxHeader({ path: '../escaped' }), file('harmless')]), /"\.\.\/escaped" points outside the target/],
    ['a GNU long name that leaves the target', Buffer.concat([header({ name: '././@LongLink', type: 'L', size: 13 }), padded(Buffer.from('/etc/passwd\0\0')), file('short')]), /"\/etc\/passwd" points outside the target/],
    ['a hard link whose pax linkpath leaves the target', Buffer.concat([paxHeader({ linkpath: '../../secret' }), header({ name: 'l', type: '1' })]), /hard link "l" points outside the target/],
    ['a member type a files backup never writes', Buffer.concat([header({ name: 'vol', type: 'V' })]), /member "vol" has type "V"/],
    ['a symlink that claims data', Buffer.concat([header({ name: 's', type: '2', size: 512 }), Buffer.alloc(512, 1)]), /member "s" claims 512 bytes of data/],
    ['a header with a wrong checksum', Buffer.concat([file('ok'), Buffer.from(header({ name: 'bad', type: '0' }).fill(0x41, 0, 3))]), /damaged tar header \(checksum\) at byte 1024/],
  ];
  it.each(cases)('refuses %s', async (_name, archive, message) => {
    await expect(vetFreeing(Buffer.concat([archive, END]))).rejects.toThrow(message);
  });

  it('passes a hand-made archive of every member type a files backup writes', async () => {
    const archive = Buffer.concat([header({ name: 'd/', type: '5' }), file('d/f', 'data'), header({ name: 'd/h', type: '1' }), header({ name: 'd/s', type: '2' }), header({ name: 'd/p', type: '6' }), END]);
    expect(await vetFreeing(archive)).toBe(archive.length);
  });
});
