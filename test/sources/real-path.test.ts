// The guard that keeps a restore out of its live source compares paths as the kernel follows
// them: a target given through a symbolic link, or a source path that is one, is the same place.
import { link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { folderOverlap, realPath, sameFile } from '../../src/sources/real-path.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-real-path-'));
  await mkdir(join(dir, 'srv', 'data', 'invoices'), { recursive: true });
  await symlink(join(dir, 'srv', 'data'), join(dir, 'link'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('real paths', () => {
  it('resolves the links of the part that exists and keeps the rest as given', async () => {
    const real = await realPath(dir);
    expect(await realPath(join(dir, 'link', 'invoices'))).toBe(join(real, 'srv', 'data', 'invoices'));
    expect(await realPath(join(dir, 'link', 'new', 'deeper'))).toBe(join(real, 'srv', 'data', 'new', 'deeper'));
    expect(await realPath(join(dir, 'nowhere', 'x'))).toBe(join(real, 'nowhere', 'x'));
  });

  it('tells how a target overlaps a source folder, through links either way', async () => {
    const data = join(dir, 'srv', 'data');
    expect(await folderOverlap(join(dir, 'link'), data)).toBe('is');
    expect(await folderOverlap(join(dir, 'link', 'invoices'), data)).toBe('inside');
    expect(await folderOverlap(join(dir, 'link', 'not-yet'), data)).toBe('inside');
    expect(await folderOverlap(join(dir, 'srv'), join(dir, 'link'))).toBe('contains');
    expect(await folderOverlap(join(dir, 'srv', 'data', 'invoices'), join(dir, 'link'))).toBe('inside');
    expect(await folderOverlap(join(dir, 'srv', 'data-copy'), data)).toBeUndefined();
    expect(await folderOverlap(join(dir, 'elsewhere'), data)).toBeUndefined();
  });

  it('knows one file under two names', async () => {
    await writeFile(join(dir, 'app.db'), 'x');
    await link(join(dir, 'app.db'), join(dir, 'hard.db'));
    await writeFile(join(dir, 'other.db'), 'x');
    expect(await sameFile(join(dir, 'hard.db'), join(dir, 'app.db'))).toBe(true);
    expect(await sameFile(join(dir, 'other.db'), join(dir, 'app.db'))).toBe(false);
    expect(await sameFile(join(dir, 'missing.db'), join(dir, 'app.db'))).toBe(false);
  });
});
