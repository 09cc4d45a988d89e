// tar's record size: a files backup writes its archive in 64 KiB records (quicker through the
// socket on two cores), and a restore reads whatever record size the archive was written with —
// snapshots taken before that change, or archives that stock GNU tar wrote with its defaults.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../../src/operations/backup.ts';
import type { Context } from '../../src/operations/context.ts';
import { restore } from '../../src/operations/restore.ts';
import { commitArchive } from '../helpers/commit-archive.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';
import { run } from '../helpers/streams.ts';
import { describeTree, makeOddTree } from '../helpers/tree.ts';

let ws: Workspace;
let ctx: Context;
const data = (): string => join(ws.dir, 'data');

beforeAll(async () => {
  ws = await workspace();
  await mkdir(data());
  await makeOddTree(data());
  ctx = await ws.context(`sites:\n  a: { type: fs, path: ./site-a }\njobs:\n  tree:\n    source: { type: files, paths: [./data] }\n`);
});
afterAll(async () => {
  ctx?.close();
  await ws?.cleanup();
});

describe('tar record sizes', () => {
  it('a files backup writes its archive in whole 64 KiB records', async () => {
    const r = await backup(ctx, 'tree');
    expect(r.ok).toBe(true);
    const bytes = r.manifest!.payload.plaintext.bytes;
    expect(bytes).toBeGreaterThan(0);
    expect(bytes % (64 << 10)).toBe(0);
  });

  // 20 blocks is GNU tar's default (10 KiB records, as every files snapshot before had); 1 block
  // leaves no padding after the end-of-archive blocks at all.
  it.each([20, 1])('restores an archive written with %i-block records', async (blocks) => {
    const archive = await run('tar', ['--create', '--file=-', `--blocking-factor=${blocks}`, '--format=posix', '-C', data(), '.']);
    expect(archive.length % (blocks * 512)).toBe(0);
    const id = await commitArchive(ctx, 'tree', 'a', archive);
    const target = join(ws.dir, `restored-${blocks}`);
    await restore(ctx, 'tree', { snapshot: id, target });
    expect(await describeTree(target)).toEqual(await describeTree(data()));
  });
});
