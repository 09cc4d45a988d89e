/**
 * Vetting a tar stream before GNU tar extracts it. GNU tar already refuses `..` members and
 * defers symlinks, and extraction happens in a temporary folder; vetting turns a hostile archive
 * into a clear, early refusal instead of a partial restore with warnings. It reads the members'
 * headers only (tar-walk.ts) and counts past their data.
 *
 * Refused: absolute member names and `..` components (in any name a header gives: ustar, pax,
 * GNU long name), device files, hard links that leave the tree, any member whose path goes
 * through a symlink that an earlier member created, a stream that starts like a gzip file (not
 * what a files backup writes), a damaged header, and what GNU tar never writes for a files backup
 * and readers disagree on: member types other than file, hard link, symlink, directory and FIFO,
 * and a link, directory or FIFO that claims data.
 *
 * Nothing keeps a view of a chunk once `write` returned (the walker copies a header cut between
 * chunks), so the stage after this one may free a chunk's memory once written (memory.ts,
 * `handOver`).
 */
import { Transform, type TransformCallback } from 'node:stream';
import { LifeboatError } from '../../errors.ts';
import { TarFormatError, TarWalker, type TarMember } from './tar-walk.ts';

function hostile(name: string): boolean {
  return name.startsWith('/') || name === '..' || name.startsWith('../') || name.endsWith('/..') || name.includes('/../');
}

function normalize(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

const GZIP_MAGIC = [0x1f, 0x8b];
/** Member types GNU tar writes for a files backup: file, hard link, symlink, directory, FIFO (and contiguous file, read as a file). */
const KNOWN = new Set(['0', '1', '2', '5', '6', '7']);
/** Types that carry no data; one that claims some is read differently by different readers. */
const DATALESS = new Set(['1', '2', '5', '6']);

class Hostile extends Error {}

/** The reason `m` is refused, if it is; `symlinks` holds the symlinks earlier members created. */
function problemWith(m: TarMember, symlinks: Set<string>): string | undefined {
  const name = JSON.stringify(m.path);
  const outside = m.names.find(hostile);
  if (outside !== undefined) return `member ${JSON.stringify(outside)} points outside the target`;
  if (m.type === '3' || m.type === '4') return `member ${name} is a device file`;
  if (!KNOWN.has(m.type)) return `member ${name} has type ${JSON.stringify(m.type)}, which a files backup never writes`;
  if (DATALESS.has(m.type) && m.size > 0) return `member ${name} claims ${m.size} bytes of data for a type that has none`;
  if (m.type === '1' && hostile(m.linkpath)) return `hard link ${name} points outside the target`;
  if (symlinks.size === 0) return undefined;
  const path = normalize(m.path);
  for (let slash = path.indexOf('/'); slash > 0; slash = path.indexOf('/', slash + 1)) {
    const prefix = path.slice(0, slash);
    if (symlinks.has(prefix)) return `member ${name} would be written through the symlink ${JSON.stringify(prefix)}`;
  }
  return undefined;
}

export function vetTarStream(what: string): Transform {
  const symlinks = new Set<string>();
  let problem: string | undefined;
  /** The stream's first bytes, until there are enough to tell a gzip file. */
  let start: Buffer | undefined = Buffer.alloc(0);
  const walker = new TarWalker((m) => {
    const found = problemWith(m, symlinks);
    if (found !== undefined) throw new Hostile(found);
    const path = normalize(m.path);
    if (m.type === '2') symlinks.add(path);
    else symlinks.delete(path);
  });
  const refusal = (): LifeboatError => new LifeboatError('RESTORE_FAILED', `${what}: refusing a hostile archive: ${problem}; nothing was restored`);
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      if (start) {
        start = Buffer.concat([start, chunk.subarray(0, GZIP_MAGIC.length - start.length)]);
        if (start.length >= GZIP_MAGIC.length) {
          if (GZIP_MAGIC.every((b, i) => start![i] === b)) problem = 'the stream is compressed, not a plain tar archive';
          start = undefined;
        }
      }
      if (problem === undefined) {
        try {
          walker.write(chunk);
        } catch (err) {
          if (!(err instanceof Hostile || err instanceof TarFormatError)) throw err;
          problem = err.message;
        }
      }
      if (problem !== undefined) return cb(refusal());
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      cb(problem === undefined ? null : refusal());
    },
  });
}
