// Backup and restore of a files job over two fs sites: fidelity, stock-tool interop, fallback,
// and nothing committed when something fails.
import { readdir, readFile, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../../src/operations/backup.ts';
import type { Context } from '../../src/operations/context.ts';
import { restore } from '../../src/operations/restore.ts';
import { payloadKey } from '../../src/catalog/layout.ts';
import { describeTree, makeOddTree } from '../helpers/tree.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';
import { execFileP } from '../helpers/streams.ts';

let ws: Workspace;
let ctx: Context;
let data: string;

const sitesYaml = `sites:
  a: { type: fs, path: ./site-a }
  b: { type: fs, path: ./site-b }
`;

beforeAll(async () => {
  ws = await workspace();
  data = join(ws.dir, 'data');
  await makeOddTree(data);
  ctx = await ws.context(`${sitesYaml}jobs:\n  tree:\n    source: { type: files, paths: [./data] }\n`);
});
afterAll(async () => {
  ctx?.close();
  await ws?.cleanup();
});

describe('files job over two fs sites', () => {
  it('round-trips a tree with odd names, empty files and folders, symlinks, modes and times', async () => {
    const r = await backup(ctx, 'tree');
    expect(r.ok).toBe(true);
    expect(r.committed).toEqual(['a', 'b']);
    const target = join(ws.dir, 'restored-1');
    // While it reads, the restore holds the snapshot on both sites (prune keeps it); then lets go.
    const holds = (site: string): string[] => readdirSync(join(ws.dir, site, 'jobs', 'tree', 'holds', r.snapshotId!), { recursive: false }).map(String);
    const seen: string[][] = [];
    const rr = await restore(ctx, 'tree', { snapshot: 'latest', target, onProgress: () => void (seen.length === 0 && seen.push(holds('site-a'), holds('site-b'))) });
    expect(rr.site).toBe('a');
    expect(await describeTree(target)).toEqual(await describeTree(data));
    expect(seen.map((h) => h.length)).toEqual([1, 1]);
    expect(() => holds('site-a')).toThrow(/ENOENT/);
  });

  it('stores identical payloads on both sites', async () => {
    const r = await backup(ctx, 'tree');
    const key = payloadKey('tree', r.snapshotId, 'tar');
    const a = await readFile(join(ws.dir, 'site-a', key));
    const b = await readFile(join(ws.dir, 'site-b', key));
    expect(a.equals(b)).toBe(true);
    expect(a.length).toBe(r.manifest!.payload.ciphertext.bytes);
  });

  it('restores with stock tools alone: age -d | zstd -d | tar -x gives identical files', async () => {
    const r = await backup(ctx, 'tree');
    const payload = join(ws.dir, 'site-b', payloadKey('tree', r.snapshotId, 'tar'));
    const target = join(ws.dir, 'stock');
    await mkdir(target);
    await execFileP('sh', ['-c', `age -d -i "$1" "$2" | zstd -d | tar -x -C "$3"`, 'sh', ws.identityFile, payload, target]);
    expect(await describeTree(target)).toEqual(await describeTree(data));
  });

  it('falls back to the other site when a byte flipped on the first, and says so', async () => {
    const r = await backup(ctx, 'tree');
    const file = join(ws.dir, 'site-a', payloadKey('tree', r.snapshotId, 'tar'));
    const bytes = await readFile(file);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    await writeFile(file, bytes);
    const fallbacks: string[] = [];
    const target = join(ws.dir, 'restored-fallback');
    const rr = await restore(ctx, 'tree', { snapshot: r.snapshotId, target, onFallback: (site, err, next) => fallbacks.push(`${site}->${next}: ${err.message}`) });
    expect(rr.site).toBe('b');
    expect(rr.failedSites.map((f) => f.site)).toEqual(['a']);
    expect(fallbacks[0]).toMatch(/^a->b: site "a": .*(corrupt at byte \d+|does not match its manifest)/);
    expect(await describeTree(target)).toEqual(await describeTree(data));
  });

  it('never restores a snapshot damaged on every site, and leaves the target untouched', async () => {
    const r = await backup(ctx, 'tree');
    for (const s of ['site-a', 'site-b']) {
      const file = join(ws.dir, s, payloadKey('tree', r.snapshotId, 'tar'));
      const bytes = await readFile(file);
      await writeFile(file, bytes.subarray(0, bytes.length - 100));
    }
    const target = join(ws.dir, 'restored-damaged');
    await expect(restore(ctx, 'tree', { snapshot: r.snapshotId, target })).rejects.toThrow(/no site could restore snapshot .*site "a".*site "b"/);
    await expect(readdir(target)).rejects.toThrow(/ENOENT/);
    expect((await readdir(ws.dir)).filter((n) => n.includes('lifeboat-partial'))).toEqual([]);
  });

  it('refuses a non-empty target without --force and restores into it with --force', async () => {
    const target = join(ws.dir, 'occupied');
    await mkdir(target);
    await writeFile(join(target, 'keep-me'), 'x');
    await expect(restore(ctx, 'tree', { snapshot: 'latest', target })).rejects.toThrow(/is not empty.*--force/);
    const good = await backup(ctx, 'tree');
    await restore(ctx, 'tree', { snapshot: good.snapshotId, target, force: true });
    expect(await readFile(join(target, 'keep-me'), 'utf8')).toBe('x');
    expect(await readFile(join(target, 'plain.txt'), 'utf8')).toBe('hello\n');
  });

  it('names a snapshot that does not exist', async () => {
    await expect(restore(ctx, 'tree', { snapshot: '20200101T000000Z-aaaaaa', target: join(ws.dir, 'x') })).rejects.toThrow(
      /job tree has no snapshot 20200101T000000Z-aaaaaa/,
    );
  });

  it('a target that cannot be written is named as such, without trying the other site', async () => {
    // /proc takes no new folders: the partial beside the target cannot be made.
    const err = await restore(ctx, 'tree', { snapshot: 'latest', target: '/proc/lifeboat-restore-here' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RESTORE_FAILED', message: expect.stringMatching(/^cannot write the restore target \/proc\/lifeboat-restore-here: /) });
    expect(String(err)).not.toMatch(/no site could|site "/);
    // Nor is a temporary folder that is not there (the restore's socket lives in one).
    const tmp = process.env.TMPDIR;
    process.env.TMPDIR = join(ws.dir, 'no-such-tmp');
    try {
      const err2 = await restore(ctx, 'tree', { snapshot: 'latest', target: join(ws.dir, 'never-made') }).catch((e: unknown) => e);
      expect(err2).toMatchObject({ code: 'RESTORE_FAILED', message: expect.stringMatching(/^cannot write the restore's socket in .*no-such-tmp: .*ENOENT/) });
    } finally {
      if (tmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmp;
    }
  });

  it("refuses a target in a site's folder, where the restore would mix into the repository", async () => {
    const before = await readdir(join(ws.dir, 'site-a'), { recursive: true });
    await symlink(join(ws.dir, 'site-a'), join(ws.dir, 'site-alias'));
    for (const [target, why] of [
      [join(ws.dir, 'site-a'), /is the folder of site "a" .*Restore elsewhere/],
      [join(ws.dir, 'site-a', 'restored'), /is inside the folder of site "a"/],
      [join(ws.dir, 'site-alias', 'jobs'), /is inside the folder of site "a"/],
    ] as const) {
      await expect(restore(ctx, 'tree', { snapshot: 'latest', target, force: true, intoSource: true })).rejects.toThrow(why);
    }
    expect(await readdir(join(ws.dir, 'site-a'), { recursive: true })).toEqual(before);
  });

  it('refuses the live source folder under any spelling, and leaves it as it was', async () => {
    await backup(ctx, 'tree');
    const before = await describeTree(data);
    await symlink(data, join(ws.dir, 'alias'));
    const refused: [string, RegExp][] = [
      [data, /is the source folder .*data of job tree/],
      [join(data, 'sub'), /is inside the source folder .*data of job tree/],
      [ws.dir, /contains the source folder .*data of job tree/],
      [join(ws.dir, 'alias'), /is the source folder .*data of job tree/],
      [join(ws.dir, 'alias', 'sub'), /is inside the source folder .*data of job tree/],
      [join(ws.dir, 'alias', 'new-folder'), /is inside the source folder .*data of job tree/],
    ];
    for (const [target, why] of refused) {
      await expect(restore(ctx, 'tree', { snapshot: 'latest', target, force: true })).rejects.toThrow(why);
      await expect(restore(ctx, 'tree', { snapshot: 'latest', target, force: true })).rejects.toThrow(/--into-source/);
    }
    expect(await describeTree(data)).toEqual(before);
  });
});

describe('failures commit nothing', () => {
  it('a source that fails (a path that does not exist) leaves no snapshot and no payload anywhere', async () => {
    const c = await ws.context(`${sitesYaml}jobs:\n  broken:\n    source: { type: files, paths: [./no-such-folder] }\n`);
    await expect(backup(c, 'broken')).rejects.toThrow(/tar \(archiving .*no-such-folder\) exited with status 2: .*Cannot (open|chdir)/);
    for (const s of ['site-a', 'site-b']) {
      const left = await readdir(join(ws.dir, s, 'jobs', 'broken', 'snapshots'), { recursive: true }).catch(() => []);
      expect(left.filter((n) => n.includes('payload') || n.includes('manifest'))).toEqual([]);
    }
    c.close();
  });

  it('paths that tar would take otherwise than they say fail the backup, named, with nothing committed', async () => {
    await writeFile(join(ws.dir, 'lone-file.txt'), 'x');
    await symlink(join(ws.dir, 'data'), join(ws.dir, 'data-link'));
    await mkdir(join(ws.dir, 'second-folder'), { recursive: true });
    const c = await ws.context(
      `${sitesYaml}jobs:\n  lone:\n    source: { type: files, paths: [./lone-file.txt] }\n  linked:\n    source: { type: files, paths: [./data-link, ./second-folder] }\n  via-link:\n    source: { type: files, paths: [./data-link] }\n`,
    );
    // One path is archived from inside: a file cannot be; of several, a symbolic link would be stored alone.
    await expect(backup(c, 'lone')).rejects.toThrow(/source path .*lone-file\.txt is not a folder: .*include: \["lone-file\.txt"\]/);
    await expect(backup(c, 'linked')).rejects.toThrow(/source path .*data-link is a symbolic link \(to .*data\): among several paths only the link itself would be stored; list .*data instead/);
    for (const job of ['lone', 'linked']) {
      for (const s of ['site-a', 'site-b']) expect(await readdir(join(ws.dir, s, 'jobs', job, 'snapshots')).catch(() => [])).toEqual([]);
    }
    // A single path that is a link to a folder is archived from inside that folder, as before.
    expect((await backup(c, 'via-link')).ok).toBe(true);
    c.close();
  });

  it('with minSites 1, a broken site is reported and the other commits', async () => {
    await writeFile(join(ws.dir, 'not-a-dir'), 'x');
    const c = await ws.context(`sites:\n  a: { type: fs, path: ./site-a }\n  bad: { type: fs, path: ./not-a-dir/sub }\njobs:\n  tree:\n    source: { type: files, paths: [./data] }\n    minSites: 1\n`);
    const r = await backup(c, 'tree');
    expect(r.ok).toBe(true);
    expect(r.committed).toEqual(['a']);
    expect(r.failed).toEqual([{ site: 'bad', error: expect.stringMatching(/^site "bad": /), permanent: true }]);
    c.close();
  });

  it('without enough sites the backup fails, naming the failed site', async () => {
    const c = await ws.context(`sites:\n  a: { type: fs, path: ./site-a }\n  bad: { type: fs, path: ./not-a-dir/sub }\njobs:\n  tree:\n    source: { type: files, paths: [./data] }\n`);
    await expect(backup(c, 'tree')).rejects.toThrow(/needs 2 site\(s\) but only 1 can be reached: site "bad"/);
    c.close();
  });
});

describe('unreadable files', () => {
  it('fail the backup with the path by default, and are skipped with a warning with onUnreadable: skip', async () => {
    const job = (mode: string) => `${sitesYaml}jobs:\n  partial:\n    source: { type: files, paths: [./data, ./vanished], onUnreadable: ${mode} }\n`;
    const strict = await ws.context(job('fail'));
    await expect(backup(strict, 'partial')).rejects.toThrow(/exited with status 2: tar: vanished: Cannot stat: No such file or directory/);
    strict.close();
    const lenient = await ws.context(job('skip'));
    const r = await backup(lenient, 'partial');
    expect(r.ok).toBe(true);
    expect(r.manifest!.source.facts.warnings).toEqual(['tar: vanished: Warning: Cannot stat: No such file or directory']);
    lenient.close();
  });
});

describe('include and exclude', () => {
  it('applies glob patterns relative to the source path', async () => {
    const c = await ws.context(
      `${sitesYaml}jobs:\n  some:\n    source: { type: files, paths: [./data], include: ["**/*.txt"], exclude: ["private/**", "with space"] }\n`,
    );
    await backup(c, 'some');
    const target = join(ws.dir, 'restored-some');
    await restore(c, 'some', { snapshot: 'latest', target });
    const paths = (await describeTree(target)).filter((e) => e.type === 'file').map((e) => e.path);
    expect(paths).toContain('plain.txt');
    expect(paths).toContain('new\nline.txt');
    expect(paths).toContain('ünïcødé/日本語 ファイル.txt');
    expect(paths.some((p) => p.startsWith('private/') || p.startsWith('with space'))).toBe(false);
    expect(paths.some((p) => p.endsWith('.bin'))).toBe(false);
    c.close();
  });

  it('stores several paths each under its basename', async () => {
    await mkdir(join(ws.dir, 'second'), { recursive: true });
    await writeFile(join(ws.dir, 'second', 'two.txt'), '2');
    const c = await ws.context(`${sitesYaml}jobs:\n  multi:\n    source: { type: files, paths: [./data/with space, ./second] }\n`);
    await backup(c, 'multi');
    const target = join(ws.dir, 'restored-multi');
    await restore(c, 'multi', { snapshot: 'latest', target });
    expect((await readdir(target)).sort()).toEqual(['second', 'with space']);
    await rm(target, { recursive: true });
    c.close();
  });
});
