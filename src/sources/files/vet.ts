/**
 * Vetting a tar stream before GNU tar extracts it. GNU tar already refuses `..` members and
 * defers symlinks, and extraction happens in a temporary folder; vetting turns a hostile archive
 * into a clear, early refusal instead of a partial restore with warnings. It uses the `tar`
 * package's parser only (it reads headers and skips data, ~1 CPU-s per GB), never its extractor.
 *
 * Refused: absolute member names, `..` components, device files, hard links that leave the tree,
 * and any member whose path goes through a symlink that an earlier member created.
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

export function vetTarStream(what: string): Transform {
  const symlinks = new Set<string>();
  let problem: string | undefined;
  const parser = new Parser({
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
      parser.write(chunk);
      if (problem !== undefined) return cb(new LifeboatError('RESTORE_FAILED', `${what}: refusing a hostile archive: ${problem}; nothing was restored`));
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      parser.end();
      cb(problem === undefined ? null : new LifeboatError('RESTORE_FAILED', `${what}: refusing a hostile archive: ${problem}; nothing was restored`));
    },
  });
}
