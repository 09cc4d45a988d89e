// Hostile archives on restore: a snapshot is untrusted input. Each archive below is committed as a
// real snapshot (encrypted, with a manifest) and restored; every one must be refused with a clear
// error, nothing may appear outside the target, and the target must not be created.
import { existsSync } from 'node:fs';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../../src/operations/context.ts';
import { restore } from '../../src/operations/restore.ts';
import { commitArchive } from '../helpers/commit-archive.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';
import { run } from '../helpers/streams.ts';

let ws: Workspace;
let ctx: Context;

/** Commits `archive` as a snapshot of job `tree`, as if a files backup had produced it. */
const commit = (archive: Buffer): Promise<string> => commitArchive(ctx, 'tree', 'a', archive);

beforeAll(async () => {
  ws = await workspace();
  await mkdir(join(ws.dir, 'data'));
  ctx = await ws.context(`sites:\n  a: { type: fs, path: ./site-a }\njobs:\n  tree:\n    source: { type: files, paths: [./data] }\n`);
  const d = join(ws.dir, 'parts');
  await mkdir(d);
  await writeFile(join(d, 'payload'), 'evil\n');
  await symlink(join(ws.dir, 'outside'), join(d, 'escape'));
});
afterAll(async () => {
  ctx?.close();
  await ws?.cleanup();
});

const parts = (): string => join(ws.dir, 'parts');
const cases: [string, () => Promise<Buffer>, RegExp][] = [
  ['a member with ".."', () => run('tar', ['-cf', '-', '-C', parts(), '--transform', 's,^,../,', 'payload']), /points outside the target/],
  ['an absolute member name', () => run('tar', ['-cPf', '-', join(parts(), 'payload')]), /points outside the target/],
  [
    'a symlink, then a file written through it',
    () => run('tar', ['-cf', '-', '-C', parts(), 'escape', 'payload', '--transform', 's,^payload$,escape/planted,']),
    /would be written through the symlink "escape"/,
  ],
  ['a device file', () => run('tar', ['-cPf', '-', '/dev/null', '--transform', 's,^/dev/,,']), /is a device file/],
  // A files backup never writes one; the tar parser would inflate it on another thread.
  ['a gzip-compressed archive', () => run('tar', ['-czf', '-', '-C', parts(), 'payload']), /compressed, not a plain tar archive/],
];

describe('restoring hostile archives', () => {
  it.each(cases)('refuses %s', async (_name, make, message) => {
    const id = await commit(await make());
    const target = join(ws.dir, `target-${id}`);
    await expect(restore(ctx, 'tree', { snapshot: id, target })).rejects.toThrow(message);
    expect(existsSync(target)).toBe(false);
    expect(existsSync(join(ws.dir, 'outside'))).toBe(false);
    expect(existsSync(join(ws.dir, 'payload'))).toBe(false);
    expect((await readdir(ws.dir)).filter((n) => n.includes('lifeboat-partial'))).toEqual([]);
  });
});
