/**
 * The files source: one or more directory trees as one POSIX (pax) tar stream, made and unpacked
 * by the system's GNU tar as a streamed child process — several times faster than any JS packer
 * (see DESIGN.md), and GNU tar's extractor refuses `..` members, strips leading `/` and defers
 * symlinks, so an archive cannot write outside the target through them.
 *
 * Archive layout: a job with one path stores that folder's contents at the archive root; a job
 * with several paths stores each under its basename. Modes, times, symlinks and empty folders are
 * kept. A restore unpacks into a hidden temporary folder beside the target and renames it into
 * place only after the whole stream verified, so a failed restore leaves the target untouched.
 */
import { lstatSync, realpathSync, statSync } from 'node:fs';
import { lstat, mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { LifeboatError } from '../../errors.ts';
import { folderOverlap } from '../real-path.ts';
import { describeUrlTarget, isUrlTarget } from '../url-target.ts';
import type { FilesSourceConfig } from '../../config/model.ts';
import { runConsumer, spawnProducer } from '../child.ts';
import { atTarget, partialPath, sweepPartials } from '../partial.ts';
import type { Dump, Facts, RestoreOptions, Source, TargetOptions } from '../source.ts';
import { listEntry, memberList, rootsFor } from './walk.ts';

/**
 * tar's record size in 512-byte blocks: 64 KiB instead of its default 10 KiB. On two cores, where
 * tar shares the cores with zstd and this process, that is a sixth of the calls through the
 * socket between them (medians of 4 alternating runs, bench/README.md):
 * - creating, tar reads files and writes the archive in 64 KiB records: backups to two fs sites
 *   of D1 6.09 s against 6.59 s (tar 0.95 CPU-s against 1.3), of 1 GiB of mixed data 3.80 s
 *   against 4.08 s; records of 128 KiB and 1 MiB measured no better;
 * - extracting, tar reads the plaintext socket 64 KiB at a time (`--read-full-records` gathers a
 *   whole record from the socket's shorter reads): a 1 GiB mixed-data restore to disk 2.58 and
 *   2.91 s against 2.92 and 3.32 s (two batches, each side first in one), tar 0.3–0.4 CPU-s less.
 * The archive is the same tar either way, but for the zero padding at its end, which extractors
 * read past, and archives written with other record sizes extract the same.
 */
const RECORD_BLOCKS = 128;

export class FilesSource implements Source {
  readonly kind = 'files';
  readonly ext = 'tar' as const;
  readonly targetKind = 'a directory';
  /** The pipeline vets every archive before tar extracts it (see vet.ts). */
  readonly restoreVetting = 'tar' as const;
  private readonly cfg: FilesSourceConfig;

  constructor(cfg: FilesSourceConfig) {
    this.cfg = cfg;
  }

  dump(o: { signal: AbortSignal }): Dump {
    const { paths, include, exclude, onUnreadable } = this.cfg;
    const args = ['--create', '--file=-', `--blocking-factor=${RECORD_BLOCKS}`, '--format=posix', '--pax-option=delete=atime,delete=ctime'];
    if (onUnreadable === 'skip') args.push('--ignore-failed-read');
    let input: Readable | undefined;
    if (include.length === 0 && exclude.length === 0) {
      for (const root of rootsFor(paths)) args.push(`--directory=${root.cwd}`, root.base === '' ? '.' : listEntry(root.base));
    } else {
      args.push('--no-recursion', '--files-from=-');
      input = Readable.from(
        (async function* () {
          for await (const line of memberList(paths, include, exclude)) yield `${line}\n`;
        })(),
      );
    }
    const refused = rootsRefused(paths);
    if (refused) return failedDump(refused);
    // Exit status 1 means some file changed while it was read: the archive is complete but that
    // file may be inconsistent, which is reported as a warning in the manifest's facts.
    const child = spawnProducer({ cmd: 'tar', args, okCodes: [0, 1], what: `tar (archiving ${paths.join(', ')})` }, o.signal, input);
    const done = child.done.then(({ stderr, code }): Facts => {
      const warnings = stderr.split('\n').filter((l) => l.trim() !== '');
      return { paths: [...paths], tar: 'GNU tar, pax format', ...(code === 1 || warnings.length ? { warnings: warnings.slice(-20) } : {}) };
    });
    return { stream: child.stream, done };
  }

  async overlapsSource(target: string): Promise<string | undefined> {
    if (isUrlTarget(target)) return undefined;
    for (const p of this.cfg.paths) {
      const how = await folderOverlap(target, p);
      if (how === 'is') return `is the source folder ${p}`;
      if (how === 'inside') return `is inside the source folder ${p}`;
      if (how === 'contains') return `contains the source folder ${p}`;
    }
    return undefined;
  }

  async checkTarget(target: string, o: TargetOptions): Promise<string[]> {
    if (isUrlTarget(target)) throw new LifeboatError('USAGE', `a files snapshot restores into ${this.targetKind}, not ${describeUrlTarget(target)}`);
    const path = resolve(target);
    const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw new LifeboatError('USAGE', `cannot use ${target} as the restore target: ${err.message}`);
    });
    if (!st) return [`${path} does not exist yet and will be created`];
    if (!st.isDirectory()) throw new LifeboatError('USAGE', `the restore target ${target} exists and is not a directory; a files snapshot restores into ${this.targetKind}`);
    if (!o.force && (await readdir(path)).length > 0) {
      throw new LifeboatError('USAGE', `the restore target ${target} is not empty: choose a new or empty directory, or add --force to replace what the snapshot contains`);
    }
    return [`${path} is ${o.force ? 'a directory (--force: the snapshot\'s entries will be replaced)' : 'an empty directory'}`];
  }

  async restore(input: Readable, target: string, o: RestoreOptions): Promise<Facts> {
    await this.checkTarget(target, o);
    const path = resolve(target);
    const tmp = partialPath(path);
    const swept = await atTarget(target, async () => {
      await mkdir(dirname(path), { recursive: true });
      const swept = await sweepPartials(path);
      await mkdir(tmp, { mode: 0o700 });
      return swept;
    });
    try {
      const args = ['--extract', '--file=-', `--blocking-factor=${RECORD_BLOCKS}`, '--read-full-records', `--directory=${tmp}`];
      await runConsumer({ cmd: 'tar', args, what: `tar (extracting into ${target})` }, input, o.signal);
      await atTarget(target, () => commit(tmp, path));
      return { target: path, ...(swept.length > 0 ? { removedPartials: swept } : {}) };
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }
}

/**
 * What tar would take differently from what the paths say: one path is archived from inside (tar
 * changes into it), so it must be a folder, or a link to one; of several paths each is archived as
 * an entry of its parent folder, where a symbolic link is stored as the link alone, without what it
 * points to. A path that does not exist is left to tar (and to onUnreadable). Checked with a few
 * synchronous calls, so that tar is spawned at once, as before, when the paths are fine.
 */
function rootsRefused(paths: readonly string[]): LifeboatError | undefined {
  for (const p of paths) {
    const st = paths.length === 1 ? statSync(p, { throwIfNoEntry: false }) : lstatSync(p, { throwIfNoEntry: false });
    if (!st) continue;
    if (paths.length === 1 && !st.isDirectory()) {
      return new LifeboatError('DUMP_FAILED', `source path ${p} is not a folder: a files job with one path backs up a folder's contents; list its folder and select it with include: ["${basename(p)}"]`);
    }
    if (st.isSymbolicLink()) {
      let real = 'nowhere';
      try {
        real = realpathSync(p);
      } catch {
        // A dangling link: named as such.
      }
      return new LifeboatError('DUMP_FAILED', `source path ${p} is a symbolic link (to ${real}): among several paths only the link itself would be stored; list ${real} instead`);
    }
  }
  return undefined;
}

/** A dump that failed before it started: its stream errs and its `done` rejects with `err`. */
function failedDump(err: LifeboatError): Dump {
  const stream = new PassThrough();
  stream.on('error', () => {});
  stream.destroy(err);
  const done = Promise.reject(err);
  done.catch(() => {});
  return { stream, done };
}

/** Moves a fully extracted tree into place: the folder itself when the target is new or empty. */
async function commit(tmp: string, target: string): Promise<void> {
  const existing = await readdir(target).catch(() => undefined);
  if (existing === undefined) return rename(tmp, target);
  if (existing.length === 0) {
    await rmdir(target);
    return rename(tmp, target);
  }
  // --force into a non-empty folder: replace the snapshot's top-level entries, keep the rest.
  for (const name of await readdir(tmp)) {
    await rm(join(target, name), { recursive: true, force: true });
    await rename(join(tmp, name), join(target, name));
  }
  await rm(tmp, { recursive: true, force: true });
}
