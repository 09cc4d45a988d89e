// "No snapshots" must not be all an on-call engineer sees when a site's path is wrong or its volume
// is not mounted: a site that holds nothing of the job and no repository marker says so, in the
// listing and in the error of a restore that finds nothing.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../../src/operations/backup.ts';
import type { Context } from '../../src/operations/context.ts';
import { restore } from '../../src/operations/restore.ts';
import { listSnapshots } from '../../src/operations/snapshots.ts';
import { workspaceWithData, type Workspace } from '../helpers/fixture.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'lifeboat');
let ws: Workspace;
let ctx: Context;

beforeAll(async () => {
  ws = await workspaceWithData();
  // Site b's path has a typo: nothing was ever written there.
  ctx = await ws.context(
    `sites:\n  a: { type: fs, path: ./site-a }\n  b: { type: fs, path: ./site-typo }\njobs:\n  files:\n    source: { type: files, paths: [./data] }\n    sites: [a]\n  elsewhere:\n    source: { type: files, paths: [./data] }\n    sites: [b]\n`,
  );
  expect((await backup(ctx, 'files')).ok).toBe(true);
});
afterAll(async () => {
  ctx?.close();
  await ws?.cleanup();
});

describe('a site without a repository', () => {
  it('is named with its location when it holds nothing, and not when it holds the snapshots', async () => {
    const bare = (await listSnapshots(ctx, 'elsewhere')).listings[0]!;
    expect(bare.snapshots).toEqual([]);
    expect(bare.noRepository).toBe(`no Lifeboat repository at ${join(ws.dir, 'site-typo')} (no lifeboat.json): a site gets one with its first backup, and a wrong path, bucket or prefix or an unmounted volume looks the same`);
    expect((await listSnapshots(ctx, 'files')).listings[0]!.noRepository).toBeUndefined();
  });

  it('is named by a restore that finds no snapshot, and by `lifeboat snapshots`', async () => {
    await expect(restore(ctx, 'elsewhere', { snapshot: 'latest', target: join(ws.dir, 'out') })).rejects.toThrow(/^job elsewhere has no snapshot yet \(site b: no Lifeboat repository at .*site-typo/);
    const { stdout } = await promisify(execFile)(process.execPath, [bin, 'snapshots', 'elsewhere', '-c', join(ws.dir, 'lifeboat.yaml')]);
    expect(stdout).toMatch(/^no snapshots of elsewhere\nwarning: site b: no Lifeboat repository at .*site-typo \(no lifeboat\.json\)/);
  });
});
