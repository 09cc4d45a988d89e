// A snapshot that a prune removes while verify is reading it is gone, not damaged: verify does not
// report it (that would page someone for retention doing its job), while a payload that vanished
// under a manifest that is still there remains damage.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestKey } from '../../src/catalog/layout.ts';
import { backup } from '../../src/operations/backup.ts';
import type { Context } from '../../src/operations/context.ts';
import { verify } from '../../src/operations/verify.ts';
import type { Site } from '../../src/sites/site.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';

let ws: Workspace;
let ctx: Context;
const ids: string[] = [];

/** The job's sites, where reading `id`'s payload first does `meanwhile` (as a concurrent prune would). */
function readingDoes(id: string, meanwhile: (site: Site) => Promise<void>): void {
  const jobSites = ctx.jobSites.bind(ctx);
  ctx.jobSites = async (...args) =>
    (await jobSites(...args)).map((site) => {
      const get: Site['get'] = async (key, o) => {
        if (key.includes(`/${id}/payload`)) await meanwhile(site);
        return site.get(key, o);
      };
      return Object.assign(Object.create(site) as Site, { get });
    });
}

beforeAll(async () => {
  ws = await workspace();
  ctx = await ws.context(`sites:\n  a: { type: fs, path: ./site-a }\njobs:\n  logs:\n    source: { type: command, dump: [sh, -c, "seq 1 20000"] }\n`);
  for (let i = 0; i < 2; i++) {
    const r = await backup(ctx, 'logs');
    expect(r.ok).toBe(true);
    ids.push(r.snapshotId);
    await new Promise((res) => setTimeout(res, 1000));
  }
});
afterAll(async () => {
  ctx?.close();
  await ws?.cleanup();
});

const snapshotDir = (id: string): string => join(ws.dir, 'site-a', 'jobs', 'logs', 'snapshots', id);

describe('verify beside a prune', () => {
  it('a payload gone under a manifest that is still there is damage', async () => {
    readingDoes(ids[1]!, async () => {
      await rm(join(snapshotDir(ids[1]!), 'payload.bin.zst.age'), { force: true });
    });
    const r = await verify(ctx, 'logs');
    expect(r.checked.filter((c) => !c.ok).map((c) => c.snapshotId)).toEqual([ids[1]]);
  });

  it('a snapshot removed while it is read (manifest first, as prune does) is not reported', async () => {
    readingDoes(ids[0]!, async (site) => {
      await site.delete(manifestKey('logs', ids[0]!));
      await rm(join(snapshotDir(ids[0]!), 'payload.bin.zst.age'), { force: true });
    });
    const r = await verify(ctx, 'logs');
    expect(r.checked.map((c) => [c.snapshotId, c.ok])).toEqual([[ids[1], false]]);
  });
});
