/**
 * The member list for a files source with include/exclude patterns. GNU tar walks the tree itself
 * when there are no patterns (fastest); with patterns we walk here, match with node:path's glob
 * matcher, and hand tar a file list. Patterns match the member path inside the archive (relative
 * to the source path, or `basename/...` when a job has several paths); an excluded directory
 * excludes everything below it.
 */
import { opendir } from 'node:fs/promises';
import { basename, dirname, join, matchesGlob } from 'node:path';

export interface Root {
  /** The folder tar runs in (`--directory`). */
  readonly cwd: string;
  /** The member name of the root itself: '' for a single path's contents, or its basename. */
  readonly base: string;
}

export function rootsFor(paths: readonly string[]): Root[] {
  if (paths.length === 1) return [{ cwd: paths[0]!, base: '' }];
  return paths.map((p) => ({ cwd: dirname(p), base: basename(p) }));
}

/** Escapes a name for tar's newline-separated, C-unquoted file lists; keeps names out of option syntax. */
export function listEntry(name: string): string {
  const escaped = name.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return escaped.startsWith('-') ? `./${escaped}` : escaped;
}

function matchesAny(path: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => matchesGlob(path, p));
}

/** Yields lines for tar's --files-from: `--directory=` lines and member names. */
export async function* memberList(paths: readonly string[], include: readonly string[], exclude: readonly string[]): AsyncIterable<string> {
  for (const root of rootsFor(paths)) {
    yield `--directory=${root.cwd}`;
    const emittedDirs = new Set<string>();
    const top = root.base === '' ? root.cwd : join(root.cwd, root.base);
    // The root folder's own entry carries its mode and times into the restore target.
    yield listEntry(root.base === '' ? '.' : root.base);
    for await (const { rel, isDir } of walk(top, root.base, exclude)) {
      if (isDir && include.length > 0) continue;
      if (include.length > 0 && !matchesAny(rel, include)) continue;
      if (include.length > 0) {
        // Keep each included file's parent folders, with their own modes and times.
        const parents: string[] = [];
        for (let d = dirname(rel); d !== '.' && d !== '' && !emittedDirs.has(d); d = dirname(d)) parents.unshift(d);
        for (const d of parents) {
          emittedDirs.add(d);
          yield listEntry(d);
        }
      }
      yield listEntry(rel);
    }
  }
}

/** Walks a tree depth-first; an excluded entry is skipped with everything below it. */
async function* walk(dir: string, rel: string, exclude: readonly string[]): AsyncIterable<{ rel: string; isDir: boolean }> {
  const handle = await opendir(dir);
  for await (const entry of handle) {
    const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (matchesAny(childRel, exclude)) continue;
    const isDir = entry.isDirectory();
    yield { rel: childRel, isDir };
    if (isDir) yield* walk(join(dir, entry.name), childRel, exclude);
  }
}
