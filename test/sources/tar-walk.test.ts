// The tar header walker must see the members GNU tar sees, no more and no fewer: vetting checks
// what it reports, and GNU tar extracts what it reads. Each archive here is listed both ways —
// by the walker, fed in pieces cut inside headers and pax records, and by `tar -t` — and the two
// lists must be equal, for archives GNU tar writes and for hand-made ones whose headers say
// their sizes in ways a careless reader gets wrong.
import { link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TarWalker, type TarMember } from '../../src/sources/files/tar-walk.ts';
import { run } from '../helpers/streams.ts';
import { END, header, padded, paxHeader } from '../helpers/tar-blocks.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-tarwalk-'));
  const t = join(dir, 'tree');
  const deep = join(t, 'd'.repeat(90), 'e'.repeat(90), 'f'.repeat(90));
  await mkdir(deep, { recursive: true });
  await writeFile(join(deep, `${'n'.repeat(120)}.txt`), 'long name\n');
  await writeFile(join(t, 'empty'), '');
  await writeFile(join(t, 'block'), Buffer.alloc(512, 7));
  await writeFile(join(t, 'odd'), Buffer.alloc(513, 9));
  await writeFile(join(t, 'ünïcødé ✓'), 'utf-8 name\n');
  await writeFile(join(t, 'big'), Buffer.alloc(3 << 20, 1));
  await symlink('big', join(t, 'to-big'));
  await symlink(`${'s'.repeat(150)}/target`, join(t, 'long-link'));
  await link(join(t, 'odd'), join(t, 'odd-again'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The walker's members, the archive fed in pieces of awkward sizes. */
function walk(archive: Buffer): TarMember[] {
  const members: TarMember[] = [];
  const walker = new TarWalker((m) => members.push(m));
  const sizes = [1, 511, 513, 100, 4096, 3, 70_000, 512, 1024];
  for (let off = 0, i = 0; off < archive.length && !walker.ended; i++) {
    const n = sizes[i % sizes.length]!;
    walker.write(Buffer.from(archive.subarray(off, off + n)));
    off += n;
  }
  return members;
}

async function gnuList(archive: Buffer): Promise<string[]> {
  const out = await run('tar', ['-t', '--quoting-style=literal', '-f', '-'], archive);
  return out.toString('utf8').split('\n').filter((l) => l !== '');
}

describe('walking the headers of a tar stream', () => {
  it.each(['posix', 'gnu', 'ustar'])('lists what tar -t lists for a tree in %s format', async (format) => {
    // ustar cannot hold the long names
    const exclude = format === 'ustar' ? ['--exclude=long-link', '--exclude=ddd*'] : [];
    const archive = await run('tar', ['-c', `--format=${format}`, ...exclude, '-f', '-', '-C', dir, 'tree']);
    const members = walk(archive);
    expect(members.map((m) => m.path)).toEqual(await gnuList(archive));
    const byName = new Map(members.map((m) => [m.path, m]));
    expect(byName.get('tree/big')).toMatchObject({ type: '0', size: 3 << 20 });
    expect(byName.get('tree/to-big')).toMatchObject({ type: '2', linkpath: 'big', size: 0 });
    // Whichever of the two names tar met first holds the data; the other links to it.
    const links = ['tree/odd', 'tree/odd-again'].map((n) => byName.get(n)!).filter((m) => m.type === '1');
    expect(links).toHaveLength(1);
    expect(['tree/odd', 'tree/odd-again']).toEqual(expect.arrayContaining([links[0]!.path, links[0]!.linkpath]));
    if (format !== 'ustar') expect(byName.get('tree/long-link')?.linkpath).toBe(`${'s'.repeat(150)}/target`);
  });

  it('takes the size from a pax header over the one in the ustar header, as GNU tar does', async () => {
    // The data looks like a member header of its own; a reader that trusted the ustar size (0)
    // would see a member "../planted" that GNU tar never extracts, and one that missed the
    // other way round could let a member through unvetted.
    const data = padded(Buffer.concat([header({ name: '../planted', type: '0', size: 0 }), Buffer.alloc(100, 1)]));
    const archive = Buffer.concat([paxHeader({ size: String(data.length) }), header({ name: 'carrier', type: '0', size: 0 }), data, header({ name: 'after', type: '0' }), END]);
    expect(walk(archive).map((m) => m.path)).toEqual(['carrier', 'after']);
    expect(await gnuList(archive)).toEqual(['carrier', 'after']);
  });

  it('reads a base-256 size', async () => {
    const field = Buffer.alloc(12);
    field[0] = 0x80;
    field.writeUInt16BE(1000, 10);
    const archive = Buffer.concat([header({ name: 'b256', type: '0', sizeField: field }), padded(Buffer.alloc(1000, 2)), header({ name: 'next', type: '5' }), END]);
    const members = walk(archive);
    expect(members.map((m) => [m.path, m.size])).toEqual([
      ['b256', 1000],
      ['next', 0],
    ]);
    expect(await gnuList(archive)).toEqual(['b256', 'next']);
  });

  it('stops at the first zero block, where GNU tar stops', async () => {
    const archive = Buffer.concat([header({ name: 'one', type: '0' }), Buffer.alloc(512), header({ name: '../hidden', type: '0' }), END]);
    expect(walk(archive).map((m) => m.path)).toEqual(['one']);
    expect(await gnuList(archive)).toEqual(['one']);
  });

  it('refuses a header whose checksum is wrong, naming where it is', () => {
    const bad = header({ name: 'second', type: '0' });
    bad[0] = 'S'.charCodeAt(0);
    const archive = Buffer.concat([header({ name: 'first', type: '0', size: 10 }), padded(Buffer.alloc(10)), bad, END]);
    expect(() => walk(archive)).toThrow('a damaged tar header (checksum) at byte 1024');
  });

  it('refuses a damaged pax record and an oversized metadata header', () => {
    const pax = Buffer.from('99 path=x\n');
    const damaged = Buffer.concat([header({ name: 'PaxHeaders/x', type: 'x', size: pax.length }), padded(pax), header({ name: 'f', type: '0' }), END]);
    expect(() => walk(damaged)).toThrow('a damaged pax record in the header at byte 0');
    const huge = Buffer.concat([header({ name: '././@LongLink', type: 'L', size: 2 << 20 }), END]);
    expect(() => walk(huge)).toThrow(`a metadata header of ${2 << 20} bytes at byte 0`);
  });
});
