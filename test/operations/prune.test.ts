// Pruning applies the retention policy per site, shows its reasons in a dry run, and removes
// manifest, payload and extra parts of what no rule keeps, but never a snapshot that a restore holds.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hold } from '../../src/catalog/holds.ts';
import { newSnapshotId } from '../../src/catalog/snapshot-id.ts';
import type { Context } from '../../src/operations/context.ts';
import { prune } from '../../src/operations/prune.ts';
import { listSnapshots } from '../../src/operations/snapshots.ts';
import { backupPipeline } from '../../src/pipeline/backup.ts';
import { createSource } from '../../src/sources/registry.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';

let ws: Workspace;
let ctx: Context;
const times = ['2026-11-27T10:00:00Z', '2026-11-27T08:00:00Z', '2026-11-26T08:00:00Z', '2026-11-25T08:00:00Z', '2026-11-01T08:00:00Z'];

beforeAll(async () => {
  ws = await workspace();
  ctx = await ws.context(
    `sites:\n  a: { type: fs, path: ./site-a }\n  b: { type: fs, path: ./site-b }\njobs:\n  logs:\n    source: { type: command, dump: [echo, hello] }\n    retention: { keepLast: 1, keepDaily: 2 }\n`,
  );
  const job = ctx.job('logs');
  for (const t of times) {
    await backupPipeline({
      job: 'logs',
      snapshotId: newSnapshotId(new Date(t)),
      source: createSource(job.source),
      sites: await ctx.jobSites(job),
      minSites: 2,
      recipients: ctx.config.encryption.recipients,
      compressionLevel: 3,
      signal: new AbortController().signal,
    });
  }
});
afterAll(async () => {
  ctx?.close();
  await ws?.cleanup();
});

describe('prune', () => {
  it('a dry run shows the rule that keeps each snapshot, and removes nothing', async () => {
    const r = await prune(ctx, 'logs', { dryRun: true });
    expect(r.sites.map((s) => s.site)).toEqual(['a', 'b']);
    expect(r.sites[0]!.decisions.map((d) => [d.createdAt.slice(0, 13), d.keptBy])).toEqual([
      ['2026-11-27T10', ['last', 'daily']],
      ['2026-11-27T08', []],
      ['2026-11-26T08', ['daily']],
      ['2026-11-25T08', []],
      ['2026-11-01T08', []],
    ]);
    expect((await listSnapshots(ctx, 'logs')).snapshots).toHaveLength(5);
  });

  it('keeps a snapshot that a restore or drill holds, and clears expired holds', async () => {
    const all = (await listSnapshots(ctx, 'logs')).snapshots;
    const held = all.find((s) => s.manifest.createdAt.startsWith('2026-11-27T08'))!;
    const expired = all.find((s) => s.manifest.createdAt.startsWith('2026-11-25'))!;
    const stale = join(ws.dir, 'site-a', 'jobs', 'logs', 'holds', expired.id);
    await mkdir(stale, { recursive: true });
    await writeFile(join(stale, 'old.json'), JSON.stringify({ snapshotId: expired.id, purpose: 'drill', expiresAt: '2026-01-01T00:00:00.000Z', host: 'gone', pid: 1 }));
    const hold = await new Hold(await ctx.jobSites(ctx.job('logs')), 'logs', held.id, 'restore').take();
    try {
      expect(hold.failed).toEqual([]);
      const r = await prune(ctx, 'logs');
      const decision = r.sites[0]!.decisions.find((d) => d.id === held.id)!;
      expect(decision.keptBy).toEqual([expect.stringMatching(/^held by a restore on .+ until 20\d\d-/)]);
      expect(r.sites.every((s) => s.removed.length === 2 && s.errors.length === 0)).toBe(true);
      expect(await readdir(stale).catch(() => [])).toEqual([]);
    } finally {
      await hold.release();
    }
    expect(await readdir(join(ws.dir, 'site-b', 'jobs', 'logs', 'holds', held.id)).catch(() => [])).toEqual([]);
  });

  it('removes what no rule keeps on every site, manifest, payload and folder', async () => {
    const r = await prune(ctx, 'logs');
    expect(r.sites.every((s) => s.removed.length === 1 && s.errors.length === 0)).toBe(true);
    const left = await listSnapshots(ctx, 'logs');
    expect(left.snapshots.map((s) => s.manifest.createdAt.slice(0, 13))).toEqual(['2026-11-27T10', '2026-11-26T08']);
    expect(left.snapshots.every((s) => s.sites.length === 2)).toBe(true);
    for (const site of ['site-a', 'site-b']) expect(await readdir(join(ws.dir, site, 'jobs', 'logs', 'snapshots'))).toHaveLength(2);
  });

  it('keeps everything for a job without a policy', async () => {
    const c = await ws.context(`sites:\n  a: { type: fs, path: ./site-a }\njobs:\n  logs:\n    source: { type: command, dump: [echo, hello] }\n`);
    const r = await prune(c, 'logs');
    expect(r.policy).toBe(false);
    expect(r.sites[0]!.removed).toEqual([]);
    c.close();
  });
});
