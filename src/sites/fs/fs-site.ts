/**
 * A site in a local directory (or any mounted filesystem). Objects are files under the root;
 * a put streams into a hidden temporary file beside the target, fsyncs it, then renames (or, with
 * ifNoneMatch, hard-links, which fails atomically when the name exists) and fsyncs the directory.
 * So a crash leaves at most a hidden temporary file, which list() ignores and sweep() removes.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, type Dirent } from 'node:fs';
import { once } from 'node:events';
import { link, mkdir, open, readdir, rename, rm, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LifeboatError, describeError, siteError } from '../../errors.ts';
import type { ObjectInfo, PutOptions, Site } from '../site.ts';
import { DirectWriter, openForDirectWrite } from './direct-writer.ts';

const TMP_MARK = '.lifeboat-tmp-';

export function checkKey(site: string, key: string): void {
  const bad =
    key === '' || key.startsWith('/') || key.includes('\\') || key.includes('\0') || key.split('/').some((s) => s === '' || s === '.' || s === '..');
  if (bad) throw siteError(site, 'SITE_ERROR', `refusing the unsafe object key ${JSON.stringify(key)}`);
}

export class FsSite implements Site {
  readonly name: string;
  readonly root: string;
  readonly location: string;

  constructor(name: string, root: string) {
    this.name = name;
    this.root = root;
    this.location = root;
  }

  private path(key: string): string {
    checkKey(this.name, key);
    return join(this.root, ...key.split('/'));
  }

  private fail(op: string, key: string, err: unknown): LifeboatError {
    if (err instanceof LifeboatError) return err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return siteError(this.name, 'NOT_FOUND', `${key}: not found`);
    if (code === 'EEXIST') return siteError(this.name, 'CONFLICT', `${key}: already exists`);
    if ((err as Error).name === 'AbortError') return new LifeboatError('ABORTED', `site "${this.name}": ${op} ${key} aborted`);
    const permanent = code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOSPC' || code === 'EDQUOT' || code === 'ENOTDIR';
    const why = code === 'ENOSPC' ? 'no space left on the device' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : describeError(err);
    return siteError(this.name, 'SITE_ERROR', `${op} ${key} in ${this.root} failed: ${why}`, { permanent, cause: err });
  }

  async put(key: string, body: Readable, o: PutOptions = {}): Promise<{ bytes: number }> {
    const target = this.path(key);
    const tmp = join(dirname(target), `${TMP_MARK}${randomBytes(6).toString('hex')}`);
    let bytes = 0;
    let out: DirectWriter | undefined;
    try {
      // pipeline() does not settle for a signal that was aborted before it started.
      o.signal?.throwIfAborted();
      await mkdir(dirname(target), { recursive: true });
      // The writer fsyncs the file before it closes it.
      out = new DirectWriter(await openForDirectWrite(tmp), tmp);
      const counter = new Transform({
        transform(chunk: Buffer, _e, cb) {
          bytes += chunk.length;
          o.onProgress?.(bytes);
          cb(null, chunk);
        },
      });
      await pipeline(body, counter, out, o.signal ? { signal: o.signal } : {});
      if (o.ifNoneMatch) {
        await link(tmp, target);
        await unlink(tmp);
      } else {
        await rename(tmp, target);
      }
      await syncDir(dirname(target));
      return { bytes };
    } catch (err) {
      // The file may still be opening when the pipeline fails: wait until it is closed, or the
      // removal below could run first and the file appear after it.
      if (out && !out.closed) {
        const closed = once(out, 'close').catch(() => {});
        out.destroy();
        await closed;
      }
      await rm(tmp, { force: true }).catch(() => {});
      await this.removeEmptyFolders(dirname(target));
      body.destroy();
      throw this.fail('writing', key, err);
    }
  }

  async get(key: string): Promise<Readable> {
    const fh = await this.open(key);
    try {
      // Read buffers sized to the object, up to 1 MiB: thousands of small manifests at start-up
      // must not each allocate a megabyte.
      const { size } = await fh.stat();
      return createReadStream('', { fd: fh, highWaterMark: Math.min(1 << 20, Math.max(16 << 10, size + 1)) });
    } catch (err) {
      await fh.close();
      throw this.fail('reading', key, err);
    }
  }

  async open(key: string): Promise<FileHandle> {
    try {
      return await open(this.path(key), 'r');
    } catch (err) {
      throw this.fail('reading', key, err);
    }
  }

  async getBytes(key: string, limit: number): Promise<Buffer> {
    let fh;
    try {
      fh = await open(this.path(key), 'r');
      const { size } = await fh.stat();
      if (size > limit) throw siteError(this.name, 'INTEGRITY', `${key} is ${size} bytes, more than the ${limit} expected`);
      return await fh.readFile();
    } catch (err) {
      throw this.fail('reading', key, err);
    } finally {
      await fh?.close();
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      const s = await stat(this.path(key));
      return s.isFile() ? { key, size: s.size, modified: s.mtime } : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw this.fail('checking', key, err);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // Start at the deepest directory the prefix names, then filter by the full prefix.
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const start = dirPart === '' ? this.root : join(this.root, ...dirPart.split('/'));
    // Stat a batch of keys at a time: listing is what the daemon does for every job at start.
    let batch: string[] = [];
    const flush = async (): Promise<ObjectInfo[]> => {
      const infos = await Promise.all(batch.map((rel) => this.statListed(rel)));
      batch = [];
      return infos.filter((i) => i !== undefined);
    };
    for await (const rel of walk(start, dirPart)) {
      if (!rel.startsWith(prefix)) continue;
      batch.push(rel);
      if (batch.length === 32) yield* await flush();
    }
    yield* await flush();
  }

  /** Size and time of a listed key; undefined when it went away since it was listed. */
  private async statListed(rel: string): Promise<ObjectInfo | undefined> {
    try {
      const s = await stat(join(this.root, ...rel.split('/')));
      return { key: rel, size: s.size, modified: s.mtime };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw this.fail('listing', rel, err);
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.path(key);
    try {
      await unlink(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw this.fail('deleting', key, err);
    }
    await this.removeEmptyFolders(dirname(path));
  }

  /** Folders exist only to hold objects: removes `dir` and its parents while empty, up to the root. */
  private async removeEmptyFolders(dir: string): Promise<void> {
    for (let d = dir; d.startsWith(`${this.root}/`); d = dirname(d)) {
      if (!(await rmdir(d).then(() => true, () => false))) break;
    }
  }

  /**
   * Removes temporary files that a crashed put left under `prefix`'s folder; returns how many.
   * Runs before every backup over all of a job's snapshot folders, so several folders are read at
   * a time rather than one after another: 160 folders 6.0 → 4.7 ms, 1,000 folders 44 → 32 ms
   * (medians of 40 sweeps, 2 cores).
   */
  async sweepIncomplete(prefix: string): Promise<number> {
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const start = dirPart === '' ? this.root : join(this.root, ...dirPart.split('/'));
    const temps = await tempsUnder(start);
    await Promise.all(temps.map((path) => rm(path, { force: true })));
    return temps.length;
  }
}

/**
 * Folders a sweep reads at a time: enough to overlap their latency, few enough not to hold up the
 * thread pool, which also runs the compression of a backup that may be under way.
 */
const SWEEP_READS = 8;

/** The temporary files under `dir` (paths), up to SWEEP_READS of its folders read at a time. */
async function tempsUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  const folders: string[] = [];
  for (const entry of await readdirIfAny(dir)) {
    if (entry.isDirectory()) folders.push(join(dir, entry.name));
    else if (entry.isFile() && entry.name.startsWith(TMP_MARK)) found.push(join(dir, entry.name));
  }
  for (let i = 0; i < folders.length; i += SWEEP_READS) {
    for (const inner of await Promise.all(folders.slice(i, i + SWEEP_READS).map(tempsUnder))) found.push(...inner);
  }
  return found;
}

async function readdirIfAny(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
}

async function* walk(dir: string, rel: string): AsyncIterable<string> {
  for (const entry of await readdirIfAny(dir)) {
    const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) yield* walk(join(dir, entry.name), childRel);
    else if (entry.isFile() && !entry.name.startsWith(TMP_MARK)) yield childRel;
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
