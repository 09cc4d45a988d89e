/**
 * Paths as the kernel follows them, for the guard that keeps a restore out of its own live source:
 * a target given through a symbolic link (`/restore` → `/srv`), or a source path that is one,
 * names the same files under another spelling, and a comparison of the text alone lets the
 * restore overwrite live data.
 */
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * `path` made absolute with every symbolic link in it resolved, as far as it exists; the part that
 * does not exist yet is appended as given (a restore creates it).
 */
export async function realPath(path: string): Promise<string> {
  let existing = resolve(path);
  const rest: string[] = [];
  for (;;) {
    try {
      return join(await realpath(existing), ...rest.reverse());
    } catch {
      const parent = dirname(existing);
      if (parent === existing) return resolve(path);
      rest.push(basename(existing));
      existing = parent;
    }
  }
}

/** Whether two paths name the same file, whatever links lead there (hard links included). */
export async function sameFile(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([stat(a).catch(() => undefined), stat(b).catch(() => undefined)]);
  return x !== undefined && y !== undefined && x.dev === y.dev && x.ino === y.ino;
}

/** How `target` and the folder `source` overlap, both as given and with links resolved; undefined when they do not. */
export async function folderOverlap(target: string, source: string): Promise<'is' | 'inside' | 'contains' | undefined> {
  const pairs: [string, string][] = [[resolve(target), resolve(source)]];
  pairs.push([await realPath(target), await realPath(source)]);
  for (const [t, s] of pairs) {
    if (t === s) return 'is';
    if (t.startsWith(`${s}/`) || s === '/') return 'inside';
    if (s.startsWith(`${t}/`) || t === '/') return 'contains';
  }
  return undefined;
}
