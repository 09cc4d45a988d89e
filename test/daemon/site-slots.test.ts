// Per-site upload limits: with daemon concurrency 2, two jobs that share a site with maxUploads 1
// upload one after the other, while jobs on unlimited sites run side by side.
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { Daemon } from '../../src/daemon/daemon.ts';
import { SiteSlots } from '../../src/daemon/site-slots.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import type { Context } from '../../src/operations/context.ts';
import { listSnapshots } from '../../src/operations/snapshots.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';

let ws: Workspace | undefined;
let ctx: Context | undefined;
afterEach(async () => {
  ctx?.close();
  await ws?.cleanup();
});

/** Runs two one-second jobs through a daemon at concurrency 2; returns when each ran, [start, end]. */
async function runTwo(siteOptions: string): Promise<[number, number][]> {
  ws = await workspace();
  const slow = `{ type: command, dump: [sh, -c, "sleep 1; echo x"] }`;
  ctx = await ws.context(`sites:\n  a: { type: fs, path: ./site-a${siteOptions} }\njobs:\n  one:\n    source: ${slow}\n  two:\n    source: ${slow}\n`);
  const daemon = new Daemon(ctx, new Metrics(), pino({ level: 'silent' }), { concurrency: 2, shutdownGraceMs: 1000, retries: 0, retryDelayMs: 1000, leaseTtlMs: 60_000 });
  const ops = [daemon.trigger(ctx.job('one'), 'test')!, daemon.trigger(ctx.job('two'), 'test')!];
  await expect.poll(() => ops.every((o) => o.state === 'succeeded'), { timeout: 20_000 }).toBe(true);
  await daemon.stop();
  expect((await listSnapshots(ctx, 'one')).snapshots).toHaveLength(1);
  expect((await listSnapshots(ctx, 'two')).snapshots).toHaveLength(1);
  return ops.map((o) => [Date.parse(o.startedAt!), Date.parse(o.finishedAt!)]);
}

const overlap = ([a, b]: [number, number][]): boolean => a![0] < b![1] && b![0] < a![1];

describe('per-site upload limit', () => {
  it('serialises backups to a site with maxUploads: 1', async () => {
    expect(overlap(await runTwo(', maxUploads: 1'))).toBe(false);
  });

  it('runs them side by side without a limit (the control)', async () => {
    expect(overlap(await runTwo(''))).toBe(true);
  });

  it('takes slots in name order, so jobs sharing sites never wait on each other in a cycle', async () => {
    const slots = new SiteSlots([
      { name: 'x', type: 'fs', path: '/x', maxUploads: 1 },
      { name: 'y', type: 'fs', path: '/y', maxUploads: 1 },
    ]);
    const order: string[] = [];
    const job = (name: string, sites: string[]) =>
      slots.run(sites, async () => {
        order.push(`${name} start`);
        await new Promise((r) => setTimeout(r, 50));
        order.push(`${name} end`);
      });
    await Promise.all([job('p', ['x', 'y']), job('q', ['y', 'x']), job('r', ['y'])]);
    // All three finish (no deadlock), and no two ever held a slot on the same site at once.
    expect(order).toHaveLength(6);
    for (let i = 0; i < 6; i += 2) expect(order[i + 1]).toBe(order[i]!.replace('start', 'end'));
  });
});
