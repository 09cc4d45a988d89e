// What a killed Lifeboat leaves in the temporary folder (a MySQL option file with its password, the
// spool of a decrypted dump, a socket) is removed by the next command of this user on this host;
// a live process's folder, another host's or another user's, and anything else are left alone.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readlinkSync } from 'node:fs';
import { chown, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepTempDirs, tempDir } from '../../src/temp-dir.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'lifeboat');
/** This process's pid namespace, as the folders' names carry it. */
const ns = /\d+/.exec(readlinkSync('/proc/self/ns/pid'))![0];
let dir: string;
let deadPid: number;
let ws: Workspace;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-tmpdirs-'));
  const gone = spawn(process.execPath, ['-e', '']);
  await once(gone, 'exit');
  deadPid = gone.pid!;
  ws = await workspace();
  await ws.config('sites:\n  a: { type: fs, path: ./site-a }\njobs:\n  j:\n    source: { type: files, paths: [./data] }\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await ws?.cleanup();
});

async function folder(name: string): Promise<string> {
  const path = join(dir, name);
  await mkdir(path, { mode: 0o700 });
  await writeFile(join(path, 'client.cnf'), 'password=secret\n');
  return path;
}

describe('temporary folders', () => {
  it('are made private, named with the host and the process', async () => {
    const made = await tempDir('pgrestore');
    try {
      expect(basename(made)).toMatch(new RegExp(`^lifeboat-pgrestore-${hostname()}-${ns}-${process.pid}-[A-Za-z0-9]{6}$`));
      expect((await stat(made)).mode & 0o777).toBe(0o700);
    } finally {
      await rm(made, { recursive: true });
    }
  });

  it("are swept when their process is gone, and only then, and only this host's, namespace's and user's", async () => {
    const host = hostname();
    const dead = await folder(`lifeboat-my-${host}-${ns}-${deadPid}-abc123`);
    const live = await folder(`lifeboat-pgrestore-${host}-${ns}-${process.ppid}-abc123`);
    const elsewhere = await folder(`lifeboat-my-otherhost-${ns}-${deadPid}-abc123`);
    const otherNamespace = await folder(`lifeboat-my-${host}-1-${deadPid}-abc123`);
    const unknownKind = await folder(`lifeboat-cache-${host}-${ns}-${deadPid}-abc123`);
    const linked = join(dir, `lifeboat-out-${host}-${ns}-${deadPid}-lnk123`);
    await symlink(live, linked);
    const theirs = await folder(`lifeboat-sqlite-${host}-${ns}-${deadPid}-oth123`);
    if (process.getuid?.() === 0) await chown(theirs, 65534, 65534);
    expect(await sweepTempDirs(dir, host)).toEqual(process.getuid?.() === 0 ? [dead] : [dead, theirs]);
    for (const kept of [live, elsewhere, otherNamespace, unknownKind, linked]) expect(existsSync(kept)).toBe(true);
  });

  it('are swept by any command', async () => {
    const left = join(ws.dir, 'tmp');
    await mkdir(left);
    const dead = join(left, `lifeboat-restore-${hostname()}-${ns}-${deadPid}-xyz789`);
    await mkdir(dead);
    await promisify(execFile)(process.execPath, [bin, 'config', 'check', '-c', join(ws.dir, 'lifeboat.yaml')], { env: { ...process.env, TMPDIR: left } });
    expect(existsSync(dead)).toBe(false);
  });
});
