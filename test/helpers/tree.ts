/** Test trees: a directory with the awkward things real data has, and a comparable description of one. */
import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, readFile, readlink, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function makeOddTree(root: string): Promise<void> {
  const long = 'd'.repeat(90);
  const files: Record<string, string | Buffer> = {
    'plain.txt': 'hello\n',
    'with space/file name.txt': 'spaces\n',
    'ünïcødé/日本語 ファイル.txt': 'unicode\n',
    [`${long}/${long}/${long}/${'f'.repeat(200)}.txt`]: 'a long path\n',
    'empty-file': '',
    'binary.bin': Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 256)),
    'new\nline.txt': 'a newline in the name\n',
    '-leading-dash': 'looks like an option\n',
    'back\\slash': 'a backslash in the name\n',
  };
  for (const [rel, content] of Object.entries(files)) {
    const path = join(root, rel);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, content);
  }
  await mkdir(join(root, 'empty-dir'), { recursive: true });
  await mkdir(join(root, 'private'), { recursive: true });
  await writeFile(join(root, 'private', 'secret.txt'), 'mode 600\n');
  await chmod(join(root, 'private', 'secret.txt'), 0o600);
  await chmod(join(root, 'private'), 0o750);
  await symlink('plain.txt', join(root, 'link-to-file'));
  await symlink('with space', join(root, 'link-to-dir'));
  await symlink('does/not/exist', join(root, 'dangling-link'));
  const when = new Date('2024-02-29T12:34:56Z');
  await utimes(join(root, 'plain.txt'), when, when);
  await utimes(join(root, 'empty-dir'), when, when);
}

export interface Entry {
  path: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  mtime?: number;
  sha256?: string;
  target?: string;
}

/** Every entry below root with type, mode, content hash or link target, and mtime (files, dirs). */
export async function describeTree(root: string, rel = ''): Promise<Entry[]> {
  const out: Entry[] = [];
  for (const name of (await readdir(join(root, rel))).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    const p = join(root, r);
    const st = await lstat(p);
    const mode = st.mode & 0o7777;
    if (st.isSymbolicLink()) out.push({ path: r, type: 'symlink', mode: 0, target: await readlink(p) });
    else if (st.isDirectory()) {
      out.push({ path: r, type: 'dir', mode, mtime: Math.floor(st.mtimeMs / 1000) });
      out.push(...(await describeTree(root, r)));
    } else out.push({ path: r, type: 'file', mode, mtime: Math.floor(st.mtimeMs / 1000), sha256: createHash('sha256').update(await readFile(p)).digest('hex') });
  }
  return out;
}
