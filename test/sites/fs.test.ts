import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FsSite } from '../../src/sites/fs/fs-site.ts';
import { siteContract } from './contract.ts';

async function countTemps(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true });
  return entries.filter((e) => e.split('/').pop()!.startsWith('.lifeboat-tmp-')).length;
}

siteContract('fs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-fs-site-'));
  return { site: new FsSite('local', dir), leftovers: () => countTemps(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe('fs site specifics', () => {
  it('names the site and the cause when the root is not a directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lifeboat-fs-site-'));
    await writeFile(join(dir, 'file'), 'x');
    const site = new FsSite('broken', join(dir, 'file'));
    const err = await site.put('a/b', Readable.from([Buffer.from('x')])).catch((e: Error) => e);
    expect(String(err)).toMatch(/site "broken": writing a\/b in .* failed/);
    await rm(dir, { recursive: true, force: true });
  });

  it('sweeps temporary files that a crash left behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lifeboat-fs-site-'));
    const site = new FsSite('local', dir);
    await site.put('jobs/x/keep', Readable.from([Buffer.from('x')]));
    await writeFile(join(dir, 'jobs', 'x', '.lifeboat-tmp-abc'), 'partial');
    expect(await site.sweepIncomplete('jobs/x/')).toBe(1);
    expect(await countTemps(dir)).toBe(0);
    expect(await site.stat('jobs/x/keep')).toBeDefined();
    await rm(dir, { recursive: true, force: true });
  });

  it('sweeps every snapshot folder of a job, and only that job', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lifeboat-fs-site-'));
    const site = new FsSite('local', dir);
    for (let i = 0; i < 30; i++) {
      await site.put(`jobs/x/snapshots/s${i}/payload`, Readable.from([Buffer.from('x')]));
      if (i % 4 === 1) await writeFile(join(dir, 'jobs', 'x', 'snapshots', `s${i}`, `.lifeboat-tmp-${i}`), 'partial');
    }
    await site.put('jobs/y/snapshots/s0/payload', Readable.from([Buffer.from('y')]));
    await writeFile(join(dir, 'jobs', 'y', 'snapshots', 's0', '.lifeboat-tmp-y'), 'partial');
    expect(await site.sweepIncomplete('jobs/x/snapshots/')).toBe(8);
    expect(await countTemps(dir)).toBe(1);
    expect(await site.stat('jobs/x/snapshots/s29/payload')).toBeDefined();
    expect(await site.sweepIncomplete('jobs/nothing-here/snapshots/')).toBe(0);
    await rm(dir, { recursive: true, force: true });
  });
});
