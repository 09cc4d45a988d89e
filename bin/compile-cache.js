// Where bin/lifeboat keeps V8's compiled code between runs. Not Node's default, a folder in the
// system's temporary directory: whoever creates that folder first owns it, Node uses it all the
// same, and V8 would then run code that another local user cached there inside a Lifeboat started
// as root. Instead a folder under the user's own cache directory ($XDG_CACHE_HOME, else
// ~/.cache), made with mode 0700 and used only while it, and the folder holding it, are real
// directories of this user that nobody else may write. Otherwise there is no cache: start-up is
// slower (bench/README.md), nothing else changes.
// Plain JavaScript, since it runs before anything is loaded.
import { lstatSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

/** A directory only this user can write, for the compile cache; undefined when there is none. */
export function privateCacheDir(env = process.env) {
  let base = env.XDG_CACHE_HOME;
  if (!base || !isAbsolute(base)) {
    let home;
    try {
      home = homedir();
    } catch {
      return undefined;
    }
    if (!home || !isAbsolute(home)) return undefined;
    base = join(home, '.cache');
  }
  const dir = join(base, 'lifeboat', 'compile-cache');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return [dir, dirname(dir)].every(isPrivate) ? dir : undefined;
  } catch {
    return undefined;
  }
}

function isPrivate(path) {
  const s = lstatSync(path);
  const uid = process.getuid?.();
  return s.isDirectory() && (uid === undefined || s.uid === uid) && (s.mode & 0o022) === 0;
}
