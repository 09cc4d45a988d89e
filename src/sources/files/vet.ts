/**
 * Vetting a tar stream before GNU tar extracts it. GNU tar already refuses `..` members and
 * defers symlinks, and extraction happens in a temporary folder; vetting turns a hostile archive
 * into a clear, early refusal instead of a partial restore with warnings. It uses the `tar`
 * package's parser only (it reads headers and skips data, ~1 CPU-s per GB), never its extractor.
 *
 * Refused: absolute member names, `..` components, device files, hard links that leave the tree,
 * any member whose path goes through a symlink that an earlier member created, and a stream that
 * starts like a gzip file (not what a files backup writes; the parser would decompress it on
 * another thread).
 *
 * The parser keeps no view of a chunk once `write` returned: it only ever holds back the chunk's
 * last bytes (a partial header), so those are handed to it as a copy of their own. The stage after
 * this one may therefore free a chunk's memory once written (memory.ts, `handOver`).
 */
import { Transform, type TransformCallback } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import { LifeboatError } from '../../errors.ts';

function hostile(name: string): boolean {
  return name.startsWith('/') || name.split('/').includes('..');
}

function normalize(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

/** The parser holds back less than a header block; this many trailing bytes go in as a copy. */
const TAIL = 512;
const GZIP_MAGIC = [0x1f, 0x8b];

export function vetTarStream(what: string): Transform {
  const symlinks = new Set<string>();
  let problem: string | undefined;
  /** The stream's first bytes, until there are enough to tell a gzip file. */
  let start: Buffer | undefined = Buffer.alloc(0);
  const parser = new Parser({
    // Only gzip is recognised by its first bytes (refused below); brotli and zstd only when asked.
    brotli: false,
    zstd: false,
    onReadEntry(entry: ReadEntry) {
      const path = normalize(entry.path);
      if (problem === undefined) {
        if (hostile(entry.path)) problem = `member ${JSON.stringify(entry.path)} points outside the target`;
        else if (entry.type === 'CharacterDevice' || entry.type === 'BlockDevice') problem = `member ${JSON.stringify(entry.path)} is a device file`;
        else if (entry.type === 'Link' && entry.linkpath !== undefined && hostile(entry.linkpath)) {
          problem = `hard link ${JSON.stringify(entry.path)} points outside the target`;
        } else {
          const parts = path.split('/');
          for (let i = 1; i < parts.length; i++) {
            const prefix = parts.slice(0, i).join('/');
            if (symlinks.has(prefix)) {
              problem = `member ${JSON.stringify(entry.path)} would be written through the symlink ${JSON.stringify(prefix)}`;
              break;
            }
          }
        }
        if (entry.type === 'SymbolicLink') symlinks.add(path);
        else symlinks.delete(path);
      }
      entry.resume();
    },
  });
  parser.on('warn', () => {});
  parser.on('error', () => {});
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
        if (chunk.length > TAIL) {
          parser.write(chunk.subarray(0, chunk.length - TAIL));
          parser.write(Buffer.from(chunk.subarray(chunk.length - TAIL)));
        } else {
          parser.write(Buffer.from(chunk));
        }
      }
      if (problem !== undefined) return cb(new LifeboatError('RESTORE_FAILED', `${what}: refusing a hostile archive: ${problem}; nothing was restored`));
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      parser.end();
      cb(problem === undefined ? null : new LifeboatError('RESTORE_FAILED', `${what}: refusing a hostile archive: ${problem}; nothing was restored`));
    },
  });
}
