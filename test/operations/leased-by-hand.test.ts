// A backup, heal or prune started by hand takes the job's lease as a daemon's backups do: while another
// process holds it, the command refuses and names the holder, and the upload that process has
// under way is not swept away as a leftover (which made one of two concurrent backups fail).
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobLease } from '../../src/catalog/lease.ts';
import { LifeboatError } from '../../src/errors.ts';
import { backup } from '../../src/operations/backup.ts';
import type { Context } from '../../src/operations/context.ts';
import { runLeasedByHand } from '../../src/operations/leased.ts';
import { workspaceWithData, type Workspace } from '../helpers/fixture.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'lifeboat');
const OTHER = 'other-host:4242:abcdef';
let ws: Workspace;
let ctx: Context;
/** An upload of the other holder, in the middle of being written. */
let inFlight: string;

beforeAll(async () => {
  ws = await workspaceWithData();
  ctx = await ws.context(`sites:\n  a: { type: fs, path: ./site-a }\njobs:\n  files:\n    source: { type: files, paths: [./data] }\n  slow:\n    source: { type: command, dump: [sleep, '61.25'] }\n`);
  const folder = join(ws.dir, 'site-a', 'jobs', 'files', 'snapshots', '20261129T000000Z-other1');
  await mkdir(folder, { recursive: true });
  inFlight = join(folder, '.lifeboat-tmp-0123456789ab');
  await writeFile(inFlight, 'part of a payload');
});
afterAll(async () => {
  ctx?.close();
  await ws?.cleanup();
});

/** Pids of this host's processes whose argument list is `argv`. */
async function processesRunning(argv: string[]): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(join('/proc', entry, 'cmdline'), 'utf8').catch(() => '');
    if (cmdline === argv.map((a) => `${a}\0`).join('')) found.push(Number(entry));
  }
  return found;
}

describe('backups and heals started by hand', () => {
  it('refuse while another process holds the job lease, naming it, and leave its upload alone', async () => {
    const theirs = new JobLease(await ctx.jobSites(ctx.job('files')), 'files', 'backup', 60_000, OTHER);
    expect((await theirs.acquire()).ok).toBe(true);
    try {
      const err = await runLeasedByHand(ctx, 'files', new AbortController().signal, (signal) => backup(ctx, 'files', { signal })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LifeboatError);
      expect((err as LifeboatError).code).toBe('CONFLICT');
      expect((err as LifeboatError).message).toMatch(new RegExp(`^another Lifeboat process \\(${OTHER}\\) is running this backup of files; its lease lasts until .*: wait for it to end, or run this again later$`));
      // The command line says the same, with exit status 1.
      const cli = await promisify(execFile)(process.execPath, [bin, 'heal', 'files', '-c', join(ws.dir, 'lifeboat.yaml')]).catch((e: { code: number; stderr: string }) => e);
      expect((cli as { code: number }).code).toBe(1);
      expect((cli as { stderr: string }).stderr).toContain(`another Lifeboat process (${OTHER}) is running this backup of files`);
      // So does a prune, which removes snapshots; its dry run only reads and goes ahead.
      const pruned = await promisify(execFile)(process.execPath, [bin, 'prune', 'files', '-c', join(ws.dir, 'lifeboat.yaml')]).catch((e: { code: number; stderr: string }) => e);
      expect((pruned as { code: number }).code).toBe(1);
      expect((pruned as { stderr: string }).stderr).toContain(`another Lifeboat process (${OTHER}) is running this backup of files`);
      await promisify(execFile)(process.execPath, [bin, 'prune', 'files', '--dry-run', '-c', join(ws.dir, 'lifeboat.yaml')]);
      expect(existsSync(inFlight)).toBe(true);
    } finally {
      await theirs.release();
    }
  });

  it('refuse from the command line after the dump started, and stop that dump', async () => {
    // `lifeboat backup` starts the job's dump before it takes the lease (cli/commands/backup.ts).
    const theirs = new JobLease(await ctx.jobSites(ctx.job('slow')), 'slow', 'backup', 60_000, OTHER);
    expect((await theirs.acquire()).ok).toBe(true);
    try {
      const started = Date.now();
      const cli = await promisify(execFile)(process.execPath, [bin, 'backup', 'slow', '-c', join(ws.dir, 'lifeboat.yaml')], { cwd: ws.dir }).catch((e: { code: number; stderr: string }) => e);
      expect((cli as { code: number }).code).toBe(1);
      expect((cli as { stderr: string }).stderr).toContain(`another Lifeboat process (${OTHER}) is running this backup of slow`);
      // The refusal did not wait for the dump (a minute of sleep), and left no dump running.
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(await processesRunning(['sleep', '61.25'])).toEqual([]);
      expect(existsSync(join(ws.dir, 'site-a', 'jobs', 'slow'))).toBe(false);
    } finally {
      await theirs.release();
    }
  });

  it('take over at once the lease of a process of this host that is gone, and wait for a live one', async () => {
    const here = { host: hostname(), pidNamespace: readlinkSync('/proc/self/ns/pid') };
    const attempt = (): Promise<unknown> => runLeasedByHand(ctx, 'files', new AbortController().signal, async () => 'ran').catch((e: unknown) => e);
    const hold = async (pid: number, pidNamespace = here.pidNamespace): Promise<JobLease> => {
      const lease = new JobLease(await ctx.jobSites(ctx.job('files')), 'files', 'backup', 60_000, `${here.host}:${pid}:killed`, { host: here.host, pid, pidNamespace });
      expect((await lease.acquire()).ok).toBe(true);
      return lease;
    };
    // A process that ran on this host and is gone: its lease does not hold the next run back.
    const gone = spawn(process.execPath, ['-e', '']);
    await once(gone, 'exit');
    await hold(gone.pid!);
    expect(await attempt()).toBe('ran');
    // A live one, or one whose pid means another namespace's process, holds it until it expires.
    const live = spawn('sleep', ['30']);
    try {
      const lease = await hold(live.pid!);
      expect(String(await attempt())).toMatch(/is running this backup of files/);
      await lease.release();
      const other = await hold(gone.pid!, 'pid:[1]');
      expect(String(await attempt())).toMatch(/is running this backup of files/);
      await other.release();
    } finally {
      live.kill();
    }
  });

  it('run once the lease is free, and then sweep what an interrupted upload left', async () => {
    const r = await runLeasedByHand(ctx, 'files', new AbortController().signal, (signal) => backup(ctx, 'files', { signal }));
    expect(r.ok).toBe(true);
    expect(existsSync(inFlight)).toBe(false);
    // The lease is released afterwards.
    expect(await readdir(join(ws.dir, 'site-a', 'locks')).catch(() => [])).toEqual([]);
  });
});
