// The command line as a user meets it: exit codes, --json, located config errors, key files.
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileP } from '../helpers/streams.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'lifeboat');
let dir: string;

async function lifeboat(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [bin, ...args], { cwd: dir });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-cli-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('lifeboat CLI', () => {
  it('prints help and its version', async () => {
    const help = await lifeboat('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/backup.*\n[\s\S]*restore/);
    expect((await lifeboat('--version')).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('exits 2 on bad usage', async () => {
    expect((await lifeboat('restore')).code).toBe(2);
    expect((await lifeboat('no-such-command')).code).toBe(2);
    const missing = await lifeboat('backup', 'x');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no config file: pass -c FILE/);
  });

  it('keygen writes a 0600 identity, prints the recipient, and never overwrites', async () => {
    const r = await lifeboat('keygen', '-o', 'keys/id.txt', '-R', 'keys/recipients.txt');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^age1[0-9a-z]{58}$/);
    expect((await stat(join(dir, 'keys/id.txt'))).mode & 0o777).toBe(0o600);
    expect((await readFile(join(dir, 'keys/recipients.txt'), 'utf8')).trim()).toBe(r.stdout.trim());
    const again = await lifeboat('keygen', '-o', 'keys/id.txt');
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists; refusing to overwrite/);
    const keep = await lifeboat('keygen', '-o', 'keys/id.txt', '--if-missing');
    expect(keep.stdout.trim()).toBe(r.stdout.trim());
    const { stdout } = await execFileP('age-keygen', ['-y', join(dir, 'keys/id.txt')]);
    expect(stdout.trim()).toBe(r.stdout.trim());
  });

  it('config check: exit 0 with a summary, exit 2 with every located error', async () => {
    await lifeboat('keygen', '-o', 'k2/id.txt', '-R', 'k2/r.txt', '--if-missing');
    const good = `encryption:\n  recipientsFile: ./k2/r.txt\n  identityFile: ./k2/id.txt\nsites:\n  a: { type: fs, path: ./a }\njobs:\n  docs:\n    source: { type: files, paths: [./data] }\n`;
    await writeFile(join(dir, 'good.yaml'), good);
    const ok = await lifeboat('config', 'check', '-c', 'good.yaml');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^good\.yaml: OK — 1 site\(s\), 1 job\(s\) \(docs\), 1 recipient\(s\)/);
    expect(ok.stderr).toBe('');
    // An identity that other users can read is valid, but said.
    await chmod(join(dir, 'k2/id.txt'), 0o644);
    const exposed = await lifeboat('config', 'check', '-c', 'good.yaml', '--json');
    await chmod(join(dir, 'k2/id.txt'), 0o600);
    expect(exposed.code).toBe(0);
    expect(exposed.stderr).toMatch(/^warning: encryption\.identityFile .*k2\/id\.txt has mode 0644: other users of this host can read or change this private key; chmod 600 it/);
    expect(JSON.parse(exposed.stdout)).toMatchObject({ ok: true, warnings: [expect.stringContaining('mode 0644')] });
    // Two sites in folders of one disk: valid, but one copy as far as the disk goes.
    await writeFile(join(dir, 'two.yaml'), good.replace('  a: { type: fs, path: ./a }\n', '  a: { type: fs, path: ./a }\n  b: { type: fs, path: ./b }\n'));
    const twoSites = await lifeboat('config', 'check', '-c', 'two.yaml', '--json');
    expect(twoSites.code).toBe(0);
    expect(twoSites.stderr).toMatch(/^warning: sites "a" and "b" are folders on one filesystem, which job\(s\) docs count as two copies/);
    expect(JSON.parse(twoSites.stdout)).toMatchObject({ ok: true, warnings: [expect.stringContaining('on one filesystem')] });
    await writeFile(join(dir, 'bad.yaml'), good.replace('jobs:', 'jobz:').replace('type: fs', 'type: ftp'));
    const bad = await lifeboat('config', 'check', '-c', 'bad.yaml');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('lifeboat: bad.yaml:5:14 sites.a.type: unknown site type (expected "fs" or "s3")');
    expect(bad.stderr).toMatch(/bad\.yaml:6:1 jobz: unknown key "jobz" \(did you mean "jobs"\?\)/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });

  it('backs up, lists and restores with --json, and exits 1 when the operation fails', async () => {
    await writeFile(join(dir, 'data.txt'), 'x');
    const cfg = `encryption:\n  recipientsFile: ./k2/r.txt\n  identityFile: ./k2/id.txt\nsites:\n  a: { type: fs, path: ./a }\n  b: { type: fs, path: ./b }\njobs:\n  docs:\n    source: { type: files, paths: [./k2] }\n`;
    await writeFile(join(dir, 'lifeboat.yaml'), cfg);
    const b = await lifeboat('backup', 'docs', '--json');
    expect(b.code).toBe(0);
    const report = JSON.parse(b.stdout) as { ok: boolean; snapshotId: string; committed: string[] };
    expect(report).toMatchObject({ ok: true, committed: ['a', 'b'] });
    const list = JSON.parse((await lifeboat('snapshots', 'docs', '--json')).stdout) as { snapshots: { id: string; sites: string[] }[] };
    expect(list.snapshots[0]).toMatchObject({ id: report.snapshotId, sites: ['a', 'b'] });
    const r = await lifeboat('restore', 'docs', '--to', 'out', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, site: 'a', snapshotId: report.snapshotId });
    const again = await lifeboat('restore', 'docs', '--to', 'out');
    expect(again.code).toBe(2);
    const missing = await lifeboat('restore', 'docs', '--to', 'out2', '--snapshot', '20200101T000000Z-zzzzzz', '--json');
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });

  it("runs under its first line's malloc settings; a user's own glibc tunables follow them and win", async () => {
    // Run as an executable (not through node, which skips the first line): the dump child
    // inherits the launcher's environment and writes it down.
    const seen = join(dir, 'malloc-env.txt');
    const job = `  env:\n    source: { type: command, dump: [sh, -c, 'printf "%s|%s" "$MALLOC_ARENA_MAX" "$GLIBC_TUNABLES" > "${seen}"; echo x'] }\n`;
    const cfg = `encryption:\n  recipientsFile: ./k2/r.txt\nsites:\n  a: { type: fs, path: ./a }\njobs:\n${job}`;
    await writeFile(join(dir, 'env.yaml'), cfg);
    const run = (env: NodeJS.ProcessEnv) => execFileP(bin, ['backup', 'env', '-c', 'env.yaml'], { cwd: dir, env });
    const { GLIBC_TUNABLES: _, ...plain } = process.env;
    await run(plain);
    expect(await readFile(seen, 'utf8')).toBe('1|glibc.malloc.hugetlb=1:');
    await run({ ...plain, GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' });
    expect(await readFile(seen, 'utf8')).toBe('1|glibc.malloc.hugetlb=1:glibc.malloc.hugetlb=0');
  });
});
