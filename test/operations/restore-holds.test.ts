// A restore holds its snapshot on every site while it reads it (so that a prune elsewhere keeps
// it), and leaves no hold behind when it ends, whether it succeeded or failed.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listHolds } from '../../src/catalog/holds.ts';
import { backup } from '../../src/operations/backup.ts';
import type { Context } from '../../src/operations/context.ts';
import { restore } from '../../src/operations/restore.ts';
import { createSource } from '../../src/sources/registry.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';

let ws: Workspace;
let ctx: Context;
let snapshotId: string;

/** Active holds of job `slow` on each site, by site name. */
async function holdsBySite(): Promise<Record<string, string[]>> {
  const sites = await ctx.jobSites(ctx.job('slow'));
  const out: Record<string, string[]> = {};
  for (const s of sites) out[s.name] = [...(await listHolds(s, 'slow')).active.keys()];
  return out;
}

beforeAll(async () => {
  ws = await workspace();
  // The restore command waits before it reads, which keeps the restore running for a while.
  ctx = await ws.context(
    `sites:\n  a: { type: fs, path: ./site-a }\n  b: { type: fs, path: ./site-b }\njobs:\n  slow:\n    source: { type: command, dump: [echo, held], restore: [sh, -c, 'sleep 1; cat > "$LIFEBOAT_RESTORE_TARGET"'] }\n`,
  );
  snapshotId = (await backup(ctx, 'slow', {})).snapshotId;
});
afterAll(async () => {
  ctx?.close();
  await ws?.cleanup();
});

describe('restore holds', () => {
  it('holds the snapshot on every site while the restore runs, and releases it after', async () => {
    const target = join(ws.dir, 'restored.txt');
    let done = false;
    const running = restore(ctx, 'slow', { snapshot: 'latest', target }).finally(() => (done = true));
    let seen: Record<string, string[]> = {};
    for (let i = 0; i < 100 && !done; i++) {
      seen = await holdsBySite();
      if (Object.values(seen).every((ids) => ids.length > 0)) break;
      await sleep(20);
    }
    expect(done).toBe(false);
    expect(seen).toEqual({ a: [snapshotId], b: [snapshotId] });
    await running;
    expect(await readFile(target, 'utf8')).toBe('held\n');
    expect(await holdsBySite()).toEqual({ a: [], b: [] });
  });

  it('leaves no hold behind when the restore fails at once', async () => {
    // Fails while the holds may still be being written: they are released all the same.
    const failing = createSource({ type: 'command', dump: ['echo', 'held'], restore: ['false'], env: {} });
    for (let i = 0; i < 3; i++) {
      await expect(restore(ctx, 'slow', { snapshot: 'latest', target: join(ws.dir, 'x'), source: failing })).rejects.toThrow(/restore command false/);
      expect(await holdsBySite()).toEqual({ a: [], b: [] });
    }
  });
});
