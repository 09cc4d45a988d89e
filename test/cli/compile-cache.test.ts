// bin/lifeboat keeps compiled code only in a folder of the user's own that nobody else can write,
// never in one that another local user could have made or planted code in.
import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readdir, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain JavaScript without declarations (it runs before anything is loaded)
import { privateCacheDir } from '../../bin/compile-cache.js';

const pick = privateCacheDir as (env: NodeJS.ProcessEnv) => string | undefined;
const repo = join(import.meta.dirname, '..', '..');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-cc-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Files anywhere under `path` (the cache keeps one folder per Node version). */
async function filesUnder(path: string): Promise<string[]> {
  const entries = await readdir(path, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => e.name);
}

function runCli(env: NodeJS.ProcessEnv): void {
  const { NODE_COMPILE_CACHE: _, ...rest } = process.env;
  execFileSync(process.execPath, [join(repo, 'bin', 'lifeboat'), '--version'], { env: { ...rest, ...env }, stdio: 'pipe' });
}

describe('the compile cache folder', () => {
  it('is made under XDG_CACHE_HOME with mode 0700, and bin/lifeboat caches its code there', async () => {
    const base = join(dir, 'fresh');
    const cache = join(base, 'lifeboat', 'compile-cache');
    expect(pick({ XDG_CACHE_HOME: base })).toBe(cache);
    expect((await stat(cache)).mode & 0o777).toBe(0o700);
    runCli({ XDG_CACHE_HOME: base });
    expect((await filesUnder(cache)).length).toBeGreaterThan(0);
  });

  it('is not used when others may write it or the folder holding it', async () => {
    const base = join(dir, 'open');
    const cache = join(base, 'lifeboat', 'compile-cache');
    await mkdir(cache, { recursive: true, mode: 0o700 });
    await chmod(cache, 0o777);
    expect(pick({ XDG_CACHE_HOME: base })).toBeUndefined();
    runCli({ XDG_CACHE_HOME: base });
    expect(await filesUnder(cache)).toEqual([]);
    await chmod(cache, 0o700);
    await chmod(join(base, 'lifeboat'), 0o775);
    expect(pick({ XDG_CACHE_HOME: base })).toBeUndefined();
  });

  it('is not used when it is a symbolic link', async () => {
    const base = join(dir, 'linked');
    const elsewhere = join(dir, 'elsewhere');
    await mkdir(join(base, 'lifeboat'), { recursive: true, mode: 0o700 });
    await mkdir(elsewhere, { mode: 0o700 });
    await symlink(elsewhere, join(base, 'lifeboat', 'compile-cache'));
    expect(pick({ XDG_CACHE_HOME: base })).toBeUndefined();
  });

  it.runIf(process.getuid?.() === 0)('is not used when another user owns it (run as root)', async () => {
    const base = join(dir, 'theirs');
    const cache = join(base, 'lifeboat', 'compile-cache');
    await mkdir(cache, { recursive: true, mode: 0o700 });
    await chown(cache, 65534, 65534);
    expect(pick({ XDG_CACHE_HOME: base })).toBeUndefined();
    runCli({ XDG_CACHE_HOME: base });
    expect(await filesUnder(cache)).toEqual([]);
  });

  it('falls back to ~/.cache for a relative XDG_CACHE_HOME', () => {
    expect(pick({ XDG_CACHE_HOME: 'relative/cache' })).toMatch(/\/\.cache\/lifeboat\/compile-cache$/);
  });
});
