// Verify names every damaged copy on every site; heal copies good copies to the sites that lack
// a snapshot or hold a damaged one, and never spreads a damaged copy.
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Daemon } from '../../src/daemon/daemon.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { backup } from '../../src/operations/backup.ts';
import type { Context } from '../../src/operations/context.ts';
import { listSnapshots } from '../../src/operations/snapshots.ts';
import { heal, verify } from '../../src/operations/verify.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';
import { execFileP } from '../helpers/streams.ts';

let ws: Workspace;
let ctx: Context;
const ids: string[] = [];
const bin = join(import.meta.dirname, '..', '..', 'bin', 'lifeboat');

async function payloadPath(site: string, id: string): Promise<string> {
  const dir = join(ws.dir, site, 'jobs', 'logs', 'snapshots', id);
  return join(dir, (await readdir(dir)).find((n) => n.startsWith('payload'))!);
}

beforeAll(async () => {
  ws = await workspace();
  ctx = await ws.context(`sites:\n  a: { type: fs, path: ./site-a }\n  b: { type: fs, path: ./site-b }\njobs:\n  logs:\n    source: { type: command, dump: [sh, -c, "seq 1 20000"] }\n`);
  for (let i = 0; i < 3; i++) {
    const r = await backup(ctx, 'logs');
    expect(r.ok).toBe(true);
    ids.push(r.snapshotId!);
    await new Promise((res) => setTimeout(res, 1000));
  }
});
afterAll(async () => {
  ctx?.close();
  await ws?.cleanup();
});

describe('verify and heal', () => {
  it('finds every copy good, shallow and deep', async () => {
    const r = await verify(ctx, 'logs');
    expect(r.ok).toBe(true);
    expect(r.checked).toHaveLength(6);
    expect((await verify(ctx, 'logs', { deep: true })).ok).toBe(true);
  });

  it('names a flipped byte, a missing payload and a broken manifest, each with its site; the CLI exits 1', async () => {
    const flipped = await payloadPath('site-a', ids[0]!);
    const bytes = await readFile(flipped);
    bytes[200]! ^= 1;
    await writeFile(flipped, bytes);
    await rm(await payloadPath('site-b', ids[1]!));
    await writeFile(join(ws.dir, 'site-b', 'jobs', 'logs', 'snapshots', ids[2]!, 'manifest.json'), '{"format": 1, "job": "logs"');
    const r = await verify(ctx, 'logs');
    expect(r.ok).toBe(false);
    const bad = r.checked.filter((c) => !c.ok).map((c) => [c.site, c.snapshotId]);
    expect(bad.sort()).toEqual([['a', ids[0]], ['b', ids[1]], ['b', ids[2]]].sort());
    expect(r.checked.find((c) => c.site === 'a' && c.snapshotId === ids[0])!.problem).toMatch(/SHA-256 differs from the manifest/);
    expect(r.checked.find((c) => c.site === 'b' && c.snapshotId === ids[1])!.problem).toMatch(/not found/);
    expect(r.checked.find((c) => c.site === 'b' && c.snapshotId === ids[2])!.problem).toMatch(/^manifest: /);
    const cli = await execFileP(process.execPath, [bin, 'verify', 'logs', '-c', join(ws.dir, 'lifeboat.yaml')]).catch((e: { code: number; stdout: string }) => e);
    expect((cli as { code: number }).code).toBe(1);
    expect((cli as { stdout: string }).stdout).toContain(`DAMAGED ${ids[0]} on site a:`);
  });

  it('heal --check replaces each damaged copy from the good one, and verify is clean again', async () => {
    const r = await heal(ctx, 'logs', { check: true });
    expect(r.failed).toEqual([]);
    expect(r.copied.map((c) => [c.snapshotId, c.from, c.to]).sort()).toEqual([[ids[0], 'b', 'a'], [ids[1], 'a', 'b'], [ids[2], 'a', 'b']].sort());
    const v = await verify(ctx, 'logs', { deep: true });
    expect(v.checked.filter((c) => !c.ok)).toEqual([]);
  });

  it('copies a snapshot to a site that lacks it, and never spreads a damaged copy', async () => {
    await rm(join(ws.dir, 'site-b', 'jobs', 'logs', 'snapshots', ids[2]!), { recursive: true });
    const flipped = await payloadPath('site-a', ids[2]!);
    const bytes = await readFile(flipped);
    bytes[300]! ^= 1;
    await writeFile(flipped, bytes);
    // The cheap pass trusts a's listed copy: the copy fails its check on the way and leaves nothing on b.
    const r = await heal(ctx, 'logs');
    expect(r.copied).toEqual([]);
    expect(r.failed).toEqual([{ snapshotId: ids[2], to: 'b', error: expect.stringMatching(/SHA-256 differs from the manifest/) }]);
    expect(await readdir(join(ws.dir, 'site-b', 'jobs', 'logs', 'snapshots'))).not.toContain(ids[2]);
  });
});

describe('heal in the daemon', () => {
  it('after a backup, copies what a site missed while it was down', async () => {
    await writeFile(join(ws.dir, 'late-b'), 'not a folder yet');
    const c = await ws.context(`sites:\n  a: { type: fs, path: ./late-a }\n  b: { type: fs, path: ./late-b }\njobs:\n  late:\n    source: { type: command, dump: [echo, hi] }\n    minSites: 1\n`);
    const daemon = new Daemon(c, new Metrics(), pino({ level: 'silent' }), { concurrency: 1, shutdownGraceMs: 1000, retries: 0, retryDelayMs: 1000, leaseTtlMs: 60_000 });
    const first = daemon.trigger(c.job('late'), 'test')!;
    await expect.poll(() => first.state, { timeout: 10_000 }).toBe('succeeded');
    expect((first.result as { committed: string[] }).committed).toEqual(['a']);
    await rm(join(ws.dir, 'late-b'));
    await new Promise((res) => setTimeout(res, 1000));
    const second = daemon.trigger(c.job('late'), 'test')!;
    await expect.poll(() => second.state, { timeout: 10_000 }).toBe('succeeded');
    await daemon.stop();
    const list = await listSnapshots(c, 'late');
    expect(list.snapshots).toHaveLength(2);
    expect(list.snapshots.every((s) => s.sites.join() === 'a,b')).toBe(true);
    c.close();
  });
});

describe('verify in the daemon', () => {
  it('runs on its schedule and exports the damaged copies per site', async () => {
    const c = await ws.context(
      `sites:\n  a: { type: fs, path: ./v-a }\n  b: { type: fs, path: ./v-b }\ndefaults:\n  verify: { schedule: "*/1 * * * * *" }\njobs:\n  checked:\n    source: { type: command, dump: [echo, hi] }\n    schedule: "0 0 1 1 *"\n`,
    );
    expect(c.job('checked').verify).toEqual({ schedule: '*/1 * * * * *', deep: false });
    const r = await backup(c, 'checked');
    const dir = join(ws.dir, 'v-b', 'jobs', 'checked', 'snapshots', r.snapshotId!);
    const payload = join(dir, (await readdir(dir)).find((n) => n.startsWith('payload'))!);
    const bytes = await readFile(payload);
    bytes[10]! ^= 1;
    await writeFile(payload, bytes);
    const metrics = new Metrics();
    const daemon = new Daemon(c, metrics, pino({ level: 'silent' }), { concurrency: 1, shutdownGraceMs: 1000, retries: 0, retryDelayMs: 1000, leaseTtlMs: 60_000 });
    await daemon.start();
    const value = async (name: string, site?: string): Promise<number | undefined> =>
      (await metrics.registry.getSingleMetric(name)!.get()).values.find((v) => v.labels.backup_job === 'checked' && (site === undefined || v.labels.site === site))?.value;
    await expect.poll(() => value('lifeboat_verify_last_run_timestamp_seconds'), { timeout: 10_000 }).toBeGreaterThan(0);
    await daemon.stop();
    expect(await value('lifeboat_verify_damaged_copies', 'a')).toBe(0);
    expect(await value('lifeboat_verify_damaged_copies', 'b')).toBe(1);
    // The console's per-site state names the damaged copy as the site's last error.
    expect(daemon.siteHealth.lastError('b')).toMatchObject({ operation: 'verify', message: expect.stringContaining(r.snapshotId!) });
    expect(daemon.siteHealth.lastError('a')).toBeUndefined();
    c.close();
  });
});
