/**
 * The SQLite source: a consistent copy of a live database through SQLite's online backup API
 * (node:sqlite), written to a private temporary file and then streamed; the copy is removed as
 * soon as it has been read. A restore writes the file beside the target, runs
 * `PRAGMA integrity_check` on it, and only then renames it into place (never over an existing
 * file without --force).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { backup, DatabaseSync } from 'node:sqlite';
import type { SqliteSourceConfig } from '../../config/model.ts';
import { LifeboatError, describeError } from '../../errors.ts';
import { realPath, sameFile } from '../real-path.ts';
import { describeUrlTarget, isUrlTarget } from '../url-target.ts';
import { deferredStream } from '../child.ts';
import { atTarget, partialPath, sweepPartials, writeFailure } from '../partial.ts';
import type { Dump, Facts, RestoreOptions, Source, TargetOptions } from '../source.ts';
import { tempDir } from '../../temp-dir.ts';

export class SqliteSource implements Source {
  readonly kind = 'sqlite';
  readonly ext = 'sqlite' as const;
  readonly targetKind = 'a file path';
  private readonly cfg: SqliteSourceConfig;

  constructor(cfg: SqliteSourceConfig) {
    this.cfg = cfg;
  }

  dump(o: { signal: AbortSignal }): Dump {
    return deferredStream(async (out): Promise<Facts> => {
      const dir = await tempDir('sqlite');
      try {
        const copy = join(dir, 'copy.sqlite');
        let pages: number;
        let db: DatabaseSync;
        try {
          db = new DatabaseSync(this.cfg.path, { readOnly: true });
        } catch (err) {
          throw new LifeboatError('DUMP_FAILED', `cannot open the SQLite database ${this.cfg.path}: ${describeError(err)}`);
        }
        try {
          pages = await backup(db, copy);
        } catch (err) {
          throw new LifeboatError('DUMP_FAILED', `SQLite backup of ${this.cfg.path} failed: ${describeError(err)}`);
        } finally {
          db.close();
        }
        o.signal.throwIfAborted();
        await pipeline(createReadStream(copy, { highWaterMark: 1 << 20 }), out);
        return { path: this.cfg.path, pages, method: 'sqlite online backup' };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  async overlapsSource(target: string): Promise<string | undefined> {
    if (isUrlTarget(target)) return undefined;
    if (resolve(target) === this.cfg.path) return 'is the source database file';
    // The same file under another name: a symbolic link to it, or a hard link.
    if ((await realPath(target)) === (await realPath(this.cfg.path)) || (await sameFile(target, this.cfg.path))) return `is, through a link, the source database file ${this.cfg.path}`;
    return undefined;
  }

  async checkTarget(target: string, o: TargetOptions): Promise<string[]> {
    if (isUrlTarget(target)) throw new LifeboatError('USAGE', `a sqlite snapshot restores into ${this.targetKind}, not ${describeUrlTarget(target)}`);
    const path = resolve(target);
    const st = await lstat(path).catch(() => undefined);
    if (st?.isDirectory()) throw new LifeboatError('USAGE', `the restore target ${target} is a directory; a sqlite snapshot restores into a file path`);
    if (st && !o.force) throw new LifeboatError('USAGE', `the restore target ${target} exists: choose a new file, or add --force to replace it`);
    return [st ? `${path} exists and will be replaced (--force)` : `${path} will be created`];
  }

  async restore(input: Readable, target: string, o: RestoreOptions): Promise<Facts> {
    await this.checkTarget(target, o);
    const path = resolve(target);
    const swept = await atTarget(target, async () => {
      await mkdir(dirname(path), { recursive: true });
      return sweepPartials(path);
    });
    const tmp = partialPath(path);
    try {
      // A failure of the file's writes is the target's (a full disk); one of the input, the site's.
      const out = createWriteStream(tmp, { flags: 'wx', mode: 0o600, flush: true });
      let writeFailed = false;
      out.once('error', () => (writeFailed = true));
      await pipeline(input, out, { signal: o.signal }).catch((err: unknown) => {
        throw writeFailed ? writeFailure(`the restore target ${target}`, err) : err;
      });
      const db = new DatabaseSync(tmp, { readOnly: true });
      let result: string;
      try {
        result = (db.prepare('PRAGMA integrity_check').all() as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
      } finally {
        db.close();
      }
      if (result !== 'ok') throw new LifeboatError('RESTORE_FAILED', `the restored SQLite database fails its integrity check: ${result.slice(0, 500)}`);
      await atTarget(target, () => rename(tmp, path));
      return { path, integrityCheck: 'ok', ...(swept.length > 0 ? { removedPartials: swept } : {}) };
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
}
