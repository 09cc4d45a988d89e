// Which PostgreSQL client binary runs: Debian's pg_wrapper is stepped over for the newest
// installed version; everything else is left to PATH.
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pgBin, pgToolInstalled, unwrap } from '../../src/sources/postgres/pg-bin.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-pg-bin-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function executable(path: string): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, '#!/bin/sh\n');
  await chmod(path, 0o755);
}

/** A Debian-like layout: bin/TOOL → share/postgresql-common/pg_wrapper, lib/postgresql/N/bin/TOOL. */
async function debianLayout(versions: Record<string, string[]>): Promise<{ bin: string; root: string }> {
  const bin = join(dir, 'bin');
  const root = join(dir, 'lib', 'postgresql');
  await executable(join(dir, 'share', 'postgresql-common', 'pg_wrapper'));
  await mkdir(bin, { recursive: true });
  for (const tool of ['pg_dump', 'pg_restore', 'psql']) await symlink('../share/postgresql-common/pg_wrapper', join(bin, tool));
  for (const [v, tools] of Object.entries(versions)) {
    await mkdir(join(root, v, 'bin'), { recursive: true });
    for (const tool of tools) await executable(join(root, v, 'bin', tool));
  }
  return { bin, root };
}

describe('PostgreSQL client binaries', () => {
  it("runs the newest installed version's tool in place of Debian's pg_wrapper", async () => {
    const { bin, root } = await debianLayout({ '9.6': ['pg_dump'], '13': ['pg_dump', 'psql'], '16': ['pg_dump'], '17': [] });
    await mkdir(join(root, 'common'));
    // 17 has no pg_dump (its client package is not installed): 16's is the newest there is.
    expect(unwrap('pg_dump', `/nonexistent:${bin}`, root)).toBe(join(root, '16', 'bin', 'pg_dump'));
    expect(unwrap('psql', bin, root)).toBe(join(root, '13', 'bin', 'psql'));
    // No version has pg_restore: left to PATH, where spawning it gives the usual error.
    expect(unwrap('pg_restore', bin, root)).toBe('pg_restore');
  });

  it('leaves every other tool to PATH', async () => {
    await executable(join(dir, 'plain', 'pg_dump'));
    expect(unwrap('pg_dump', join(dir, 'plain'), join(dir, 'lib'))).toBe('pg_dump');
    expect(unwrap('pg_dump', join(dir, 'elsewhere'), join(dir, 'lib'))).toBe('pg_dump');
    const { bin } = await debianLayout({});
    expect(unwrap('pg_dump', bin, join(dir, 'no-such-root'))).toBe('pg_dump');
  });

  it('uses binDir when the job sets one', () => {
    expect(pgBin({ binDir: '/opt/pg/bin' }, 'pg_restore')).toBe('/opt/pg/bin/pg_restore');
  });

  it('tells whether a tool is installed without starting it', async () => {
    await executable(join(dir, 'tools', 'psql'));
    expect(pgToolInstalled({ binDir: join(dir, 'tools') }, 'psql')).toBe(true);
    expect(pgToolInstalled({ binDir: join(dir, 'tools') }, 'pg_restore')).toBe(false);
    expect(pgToolInstalled({}, 'pg_restore')).toBe(true);
  });

  it('finds a working pg_dump on this machine', () => {
    const bin = pgBin({}, 'pg_dump');
    const wrapped = realpathSync(execFileSync('sh', ['-c', 'command -v pg_dump']).toString().trim()).endsWith('/pg_wrapper');
    if (wrapped) expect(bin).toMatch(/^\/usr\/lib\/postgresql\/\d+\/bin\/pg_dump$/);
    expect(execFileSync(bin, ['--version']).toString()).toMatch(/^pg_dump \(PostgreSQL\) \d+/);
  });
});
