// bin/lifeboat runs the bundle only while it is newer than every source; the bundle works from a
// folder of its own (the container image carries no sources).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain JavaScript without declarations (it runs before anything is loaded)
import { entry } from '../../bin/entry.js';

const choose = entry as (root: string) => string;
const repo = join(import.meta.dirname, '..', '..');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-entry-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function touch(path: string, secondsAgo: number): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, '');
  const t = new Date(Date.now() - secondsAgo * 1000);
  await utimes(path, t, t);
}

describe('bin/lifeboat entry', () => {
  it('runs the bundle only while it is newer than every source, package.json and the lock file', async () => {
    const root = join(dir, 'tree');
    const sources = join(root, 'src', 'cli', 'main.ts');
    const bundle = join(root, 'dist', 'cli.js');
    await touch(sources, 60);
    await touch(join(root, 'src', 'console', 'static', 'console.css'), 60);
    await touch(join(root, 'package.json'), 60);
    await touch(join(root, 'package-lock.json'), 60);
    expect(choose(root)).toBe(sources); // no bundle
    await touch(bundle, 30);
    expect(choose(root)).toBe(bundle);
    await touch(join(root, 'src', 'console', 'static', 'console.css'), 10);
    expect(choose(root)).toBe(sources); // a deep file edited after the build
    await touch(join(root, 'src', 'console', 'static', 'console.css'), 60);
    await touch(join(root, 'package-lock.json'), 10);
    expect(choose(root)).toBe(sources); // dependencies changed after the build
    await touch(join(root, 'package-lock.json'), 60);
    process.env.LIFEBOAT_SOURCES = '1';
    try {
      expect(choose(root)).toBe(sources); // asked for
    } finally {
      delete process.env.LIFEBOAT_SOURCES;
    }
    await rm(join(root, 'src'), { recursive: true });
    expect(choose(root)).toBe(bundle); // installed without the sources
  });

  it('backs up and restores from a copy of the bundle without sources or node_modules', async () => {
    // The test run's global setup built dist/ from the current sources.
    const app = join(dir, 'app');
    await cp(join(repo, 'bin'), join(app, 'bin'), { recursive: true });
    await cp(join(repo, 'dist'), join(app, 'dist'), { recursive: true });
    await cp(join(repo, 'package.json'), join(app, 'package.json'));
    const run = (...args: string[]): string => execFileSync(process.execPath, [join(app, 'bin', 'lifeboat'), ...args], { cwd: app }).toString();
    expect(run('--version').trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(run('config', 'schema')).toContain('"$schema"');
    // The restore runs the bundle's worker thread (restore-worker.js).
    await mkdir(join(app, 'data', 'sub'), { recursive: true });
    const content = randomBytes(300_000).toString('base64');
    await writeFile(join(app, 'data', 'sub', 'file.txt'), content);
    run('keygen', '-o', 'identity.txt', '-R', 'recipients.txt');
    await writeFile(
      join(app, 'lifeboat.yaml'),
      'encryption: { recipientsFile: ./recipients.txt, identityFile: ./identity.txt }\nsites:\n  a: { type: fs, path: ./site }\njobs:\n  data: { source: { type: files, paths: [./data] } }\n',
    );
    run('backup', 'data', '-c', 'lifeboat.yaml');
    run('restore', 'data', '-c', 'lifeboat.yaml', '--to', 'restored');
    expect(await readFile(join(app, 'restored', 'sub', 'file.txt'), 'utf8')).toBe(content);
  });
});
