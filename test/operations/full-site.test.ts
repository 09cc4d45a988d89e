// A backup whose every site runs out of space fails with the sites' reason, not with the dump's:
// the dump (tar here) is stopped because the sites failed, and "tar was aborted" would send the
// on-call engineer to look at the source instead of the disk.
import { execFile } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../../src/operations/backup.ts';
import type { Context } from '../../src/operations/context.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';

const execFileP = promisify(execFile);
const bin = join(import.meta.dirname, '..', '..', 'bin', 'lifeboat');
let ws: Workspace;
let small: string;
let mounted = false;

beforeAll(async () => {
  ws = await workspace();
  // 48 MiB that does not compress, for a site with 4 MiB of room: tar is still reading when it fills.
  await mkdir(join(ws.dir, 'data'));
  await writeFile(join(ws.dir, 'data', 'random.bin'), randomFillSync(Buffer.alloc(48 << 20)));
  small = join(ws.dir, 'small');
  await mkdir(small);
  mounted = await execFileP('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', small]).then(
    () => true,
    () => false,
  );
});
afterAll(async () => {
  if (mounted) await execFileP('umount', [small]).catch(() => {});
  await ws?.cleanup();
});

describe('a backup whose only site fills up', () => {
  it('fails naming the full disk, leaves no partial file, and the CLI says so without a stack trace', async (t) => {
    // Mounting needs root, as the fault tests' full filesystem does.
    if (!mounted) return t.skip();
    const ctx: Context = await ws.context(`sites:\n  full: { type: fs, path: ./small/site }\njobs:\n  data:\n    source: { type: files, paths: [./data] }\n`);
    try {
      const err = await backup(ctx, 'data').then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toMatch(/site "full".*no space left on the device/);
      expect(err?.message).not.toMatch(/aborted/);
      const left = (await readdir(join(small, 'site'), { recursive: true })).map(String);
      expect(left.filter((n) => n.includes('payload') || n.includes('tmp'))).toEqual([]);
    } finally {
      ctx.close();
    }
    const cli = await execFileP(process.execPath, [bin, 'backup', 'data', '-c', join(ws.dir, 'lifeboat.yaml')]).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(cli?.code).toBe(1);
    expect(cli?.stderr).toMatch(/^lifeboat: .*site "full".*no space left on the device/);
    expect(cli?.stderr).not.toMatch(/aborted|\n\s+at /);
  }, 60_000);
});
