// PostgreSQL source against the running server: a realistic database survives backup → restore
// into another database with identical schema and data; failures commit nothing and say why.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../../src/operations/backup.ts';
import type { Context } from '../../src/operations/context.ts';
import { preflight, restore } from '../../src/operations/restore.ts';
import { FaultProxy } from '../faults/proxy.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';
import { pgArchiveHeader } from '../helpers/pg-archive.ts';
import { execFileP } from '../helpers/streams.ts';

const PG = { PGHOST: process.env.LIFEBOAT_TEST_PGHOST ?? '127.0.0.1', PGPORT: process.env.LIFEBOAT_TEST_PGPORT ?? '5432', PGUSER: process.env.LIFEBOAT_TEST_PGUSER ?? 'postgres' };
const server = `postgres://${PG.PGUSER}@${PG.PGHOST}:${PG.PGPORT}`;
const suffix = randomBytes(3).toString('hex');
const src = `lifeboat_src_${suffix}`;
const created: string[] = [src];
let ws: Workspace;
let ctx: Context;

async function sql(db: string, text: string): Promise<string> {
  const { stdout } = await execFileP('psql', ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-d', db, '-c', text], { env: { ...process.env, ...PG } });
  return stdout.trim();
}

/** Everything that must survive a restore: the schema as pg_dump prints it, and the data. */
async function fingerprint(db: string): Promise<Record<string, string>> {
  const { stdout: schema } = await execFileP('pg_dump', ['--schema-only', '--no-comments', '-d', db], { env: { ...process.env, ...PG } });
  const tables = (await sql(db, "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).split('\n');
  const out: Record<string, string> = { schema: schema.replace(/^--.*$/gm, '').replace(/\\restrict .*$/gm, '').replace(/\\unrestrict .*$/gm, '') };
  for (const t of tables) out[t] = await sql(db, `SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') FROM ${t} x`);
  out.sequences = await sql(db, "SELECT string_agg(sequencename || '=' || coalesce(last_value, 0), ',' ORDER BY sequencename) FROM pg_sequences");
  out.largeObjects = await sql(db, 'SELECT string_agg(md5(lo_get(oid)), \',\' ORDER BY oid) FROM pg_largeobject_metadata');
  out.comments = await sql(db, "SELECT string_agg(obj_description(oid, 'pg_class'), ',') FROM pg_class WHERE relname = 'customers'");
  out.revenue = await sql(db, 'SELECT string_agg(status::text || revenue, \',\' ORDER BY status) FROM revenue_by_status');
  return out;
}

/** A context whose job takes its client tools from a folder: `tool` is a shell script, psql the real one. */
async function standIn(folder: string, tool: string, script: string): Promise<Context> {
  const bin = join(ws.dir, folder);
  await mkdir(bin);
  await writeFile(join(bin, tool), `#!/bin/sh\n${script}\n`);
  await chmod(join(bin, tool), 0o755);
  const { stdout } = await execFileP('sh', ['-c', 'command -v psql']);
  await symlink(stdout.trim(), join(bin, 'psql'));
  return ws.context(job(`, binDir: "${bin}"`));
}

function job(extra = ''): string {
  return `sites:\n  a: { type: fs, path: ./site-a }\n  b: { type: fs, path: ./site-b }\njobs:\n  db:\n    source: { type: postgres, url: "${server}/${src}"${extra} }\n`;
}

beforeAll(async () => {
  ws = await workspace();
  await sql('postgres', `CREATE DATABASE ${src}`);
  await execFileP('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', src, '-f', join(import.meta.dirname, 'fixtures', 'postgres-realistic.sql')], { env: { ...process.env, ...PG } });
  ctx = await ws.context(job());
});
afterAll(async () => {
  ctx?.close();
  for (const db of created) await sql('postgres', `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => {});
  await ws?.cleanup();
});

describe('PostgreSQL source', () => {
  it('restores a realistic database into a new one with identical schema and data', async () => {
    const r = await backup(ctx, 'db');
    expect(r.ok).toBe(true);
    expect(r.manifest!.source.facts).toMatchObject({
      database: src,
      serverVersion: expect.stringMatching(/^\d+\.\d+/),
      systemIdentifier: await sql('postgres', 'SELECT system_identifier FROM pg_control_system()'),
      clientVersion: expect.stringMatching(/^pg_dump \d+/),
    });
    const dst = `lifeboat_dst_${suffix}`;
    created.push(dst);
    const rr = await restore(ctx, 'db', { snapshot: 'latest', target: `${server}/${dst}` });
    expect(rr.facts).toMatchObject({ database: dst, created: true });
    expect(await fingerprint(dst)).toEqual(await fingerprint(src));
  });

  it('refuses a non-empty target without --clean, and replaces its objects with --clean', async () => {
    const dst = `lifeboat_dst_${suffix}`;
    await expect(restore(ctx, 'db', { snapshot: 'latest', target: `${server}/${dst}` })).rejects.toThrow(/is not empty \(\d+ relations\).*--clean/);
    await sql(dst, 'DELETE FROM notes');
    await restore(ctx, 'db', { snapshot: 'latest', target: `${server}/${dst}`, clean: true });
    expect(await fingerprint(dst)).toEqual(await fingerprint(src));
  });

  it('restores in parallel with --jobs through a spool file that is removed afterwards', async () => {
    const dst = `lifeboat_par_${suffix}`;
    created.push(dst);
    await restore(ctx, 'db', { snapshot: 'latest', target: `${server}/${dst}`, jobs: 2, noOwner: true });
    expect(await fingerprint(dst)).toEqual(await fingerprint(src));
    expect((await readdir('/tmp')).filter((n) => n.startsWith('lifeboat-pgrestore-'))).toEqual([]);
  });

  it("a full temporary folder fails a --jobs restore as this host's problem, and removes the database it created", async () => {
    const small = join(ws.dir, 'small-tmp');
    await mkdir(small);
    const mounted = await execFileP('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', small]).then(
      () => true,
      () => false,
    );
    if (!mounted) return; // mounting a small tmpfs needs root; the rest of the suite runs without it
    const dst = `lifeboat_spool_${suffix}`;
    created.push(dst);
    const tmp = process.env.TMPDIR;
    process.env.TMPDIR = small;
    try {
      const err = await restore(ctx, 'db', { snapshot: 'latest', target: `${server}/${dst}`, jobs: 2 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'RESTORE_FAILED', message: expect.stringMatching(/^cannot write the spool file for pg_restore --jobs in .*small-tmp: .*no space left/i) });
      expect(String(err)).not.toMatch(/no site could/);
      expect(await sql('postgres', `SELECT count(*) FROM pg_database WHERE datname = '${dst}'`)).toBe('0');
    } finally {
      if (tmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmp;
      await execFileP('umount', [small]);
    }
  });

  it('removes the database it created when the restore fails: an unknown snapshot, a failing pg_restore', async () => {
    // The database is created while the catalog is read, before the snapshot is known.
    const dst = `lifeboat_gone_${suffix}`;
    created.push(dst);
    const exists = (): Promise<string> => sql('postgres', `SELECT count(*) FROM pg_database WHERE datname = '${dst}'`);
    await expect(restore(ctx, 'db', { snapshot: '20200101T000000Z-zzzzzz', target: `${server}/${dst}` })).rejects.toThrow(/20200101T000000Z-zzzzzz/);
    expect(await exists()).toBe('0');
    // pg_restore fails on its input (the stand-in exits 1 after reading a little of it).
    const c = await standIn('failing-restore-bin', 'pg_restore', 'if [ "$1" = --version ]; then echo "pg_restore (PostgreSQL) 99.0"; exit 0; fi\nhead -c 1000 > /dev/null; echo "pg_restore: error: simulated" >&2; exit 1');
    try {
      await expect(restore(c, 'db', { snapshot: 'latest', target: `${server}/${dst}` })).rejects.toThrow(/simulated/);
      expect(await exists()).toBe('0');
    } finally {
      c.close();
    }
  });

  it('a missing pg_restore fails the restore before a database is created', async () => {
    const dst = `lifeboat_none_${suffix}`;
    created.push(dst);
    // The folder has psql (and a pg_dump stand-in) but no pg_restore.
    const c = await standIn('no-restore-bin', 'pg_dump', 'exit 1');
    try {
      await expect(restore(c, 'db', { snapshot: 'latest', target: `${server}/${dst}` })).rejects.toThrow(/pg_restore: \S+\/pg_restore is not installed \(install the PostgreSQL client tools, or set binDir\)/);
      expect(await sql('postgres', `SELECT count(*) FROM pg_database WHERE datname = '${dst}'`)).toBe('0');
    } finally {
      c.close();
    }
  });

  it('refuses to restore into the source database without --into-source', async () => {
    await expect(restore(ctx, 'db', { snapshot: 'latest', target: `${server.replace('127.0.0.1', 'localhost')}/${src}`, clean: true })).rejects.toThrow(
      /is the source database of job db.*--into-source/,
    );
  });

  it('knows the source database under another address by the server it is on', async () => {
    // A port forwarded to the same server, as a DNS alias, a pooler or a tunnel would be.
    const forward = await new FaultProxy(`tcp://${PG.PGHOST}:${PG.PGPORT}`).start();
    const alias = `postgres://${PG.PGUSER}@127.0.0.1:${forward.port}`;
    try {
      const before = await sql(src, 'SELECT count(*) FROM orders');
      const why = /is the source database \(the same server, by its system identifier \d+, under another address\) of job db.*--into-source/;
      await expect(restore(ctx, 'db', { snapshot: 'latest', target: `${alias}/${src}`, clean: true })).rejects.toThrow(why);
      const dry = await preflight(ctx, 'db', { snapshot: 'latest', target: `${alias}/${src}`, clean: true });
      expect(dry.ok).toBe(false);
      expect(dry.checks.find((c) => c.check === 'not the source')).toMatchObject({ ok: false, detail: expect.stringMatching(why) });
      expect(await sql(src, 'SELECT count(*) FROM orders')).toBe(before);
      // Another database on that server is not the source.
      const dst = `lifeboat_alias_${suffix}`;
      created.push(dst);
      await restore(ctx, 'db', { snapshot: 'latest', target: `${alias}/${dst}` });
      expect(await sql(dst, 'SELECT count(*) FROM orders')).toBe(before);
    } finally {
      await forward.stop();
    }
  });

  it('a dry run checks the target, the snapshot and the identity, and writes nothing', async () => {
    const dst = `lifeboat_dry_${suffix}`;
    const p = await preflight(ctx, 'db', { snapshot: 'latest', target: `${server}/${dst}` });
    expect(p.ok).toBe(true);
    expect(p.checks.map((c) => c.check)).toEqual(['target', 'snapshot', 'not the source', 'identity']);
    expect(p.checks[0]!.detail).toMatch(/does not exist and will be created/);
    expect(await sql('postgres', `SELECT count(*) FROM pg_database WHERE datname = '${dst}'`)).toBe('0');
    // --jobs spools the dump: the dry run also checks the temporary folder's free space.
    const spooled = await preflight(ctx, 'db', { snapshot: 'latest', target: `${server}/${dst}`, jobs: 2 });
    expect(spooled.checks.at(-1)).toMatchObject({ check: 'spool space', ok: true, detail: expect.stringMatching(/ has [\d.]+ [KMGT]?i?B free for a [\d.]+ [KMGT]?i?B spool file$/) });
    const bad = await preflight(ctx, 'db', { snapshot: 'latest', target: '/tmp/not-a-database' });
    expect(bad.ok).toBe(false);
    expect(bad.checks[0]!.detail).toMatch(/restores into a database URL/);
  });

  it('a pg_dump killed mid-run leaves no snapshot and says how it died', async () => {
    // Hold a lock so that pg_dump waits inside its run, then kill it there.
    const locker = spawn('psql', ['-X', '-q', '-d', src, '-c', 'BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(20); COMMIT;'], {
      env: { ...process.env, ...PG },
      stdio: 'ignore',
    });
    await new Promise((r) => setTimeout(r, 500));
    const before = await snapshotCount();
    const killer = setInterval(() => {
      void execFileP('pkill', ['-KILL', '-f', `pg_dump .*--format=custom`]).catch(() => {});
    }, 300);
    try {
      await expect(backup(ctx, 'db')).rejects.toThrow(/pg_dump of postgres:\/\/.* was killed by SIGKILL/);
    } finally {
      clearInterval(killer);
      locker.kill();
      await sql('postgres', "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%LOCK TABLE orders%' AND pid <> pg_backend_pid()");
    }
    expect(await snapshotCount()).toBe(before);
  });

  it('a role that cannot connect fails with the server message and commits nothing', async () => {
    const c = await ws.context(job(', user: no_such_role_lifeboat'));
    await expect(backup(c, 'db')).rejects.toThrow(/cannot dump postgres:\/\/no_such_role_lifeboat@.*role "no_such_role_lifeboat" does not exist/);
    c.close();
  });

  it("reads pg_dump's version from the archive it writes, without starting pg_dump --version", async () => {
    const log = join(ws.dir, 'pg_dump-runs.log');
    const { stdout: real } = await execFileP('sh', ['-c', 'command -v pg_dump']);
    const c = await standIn('logged-bin', 'pg_dump', `echo "$*" >> "${log}"\nexec "${real.trim()}" "$@"`);
    const r = await backup(c, 'db');
    c.close();
    const version = /\d+\.\d+/.exec((await execFileP(real.trim(), ['--version'])).stdout)![0];
    expect(r.manifest!.source.facts).toMatchObject({ clientVersion: `pg_dump ${version}` });
    const runs = (await readFile(log, 'utf8')).trim().split('\n');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toContain('--format=custom');
  });

  it('a pg_dump older than the server is refused, naming both versions, from its archive header', async () => {
    // No older pg_dump can be installed next to this server, so a stand-in writes an archive whose
    // header names an older pg_dump; psql (for the server's version) is the real one.
    const header = join(ws.dir, 'old-header.bin');
    await writeFile(header, pgArchiveHeader({ minor: 12, database: src, server: '9.6.24', dump: '9.6.24' }));
    const c = await standIn('old-header-bin', 'pg_dump', `cat "${header}"; head -c 3000000 /dev/urandom`);
    const before = await snapshotCount();
    await expect(backup(c, 'db')).rejects.toThrow(/pg_dump 9\.6 is older than the server .* \(PostgreSQL \d+\.\d+\) and cannot dump it: install the PostgreSQL \d+ client tools/);
    expect(await snapshotCount()).toBe(before);
    c.close();
  });

  it('a pg_dump older than the server is refused, naming both versions, from pg_dump --version', async () => {
    // The stand-in writes no archive header (as a real older pg_dump, which refuses a newer server
    // before writing anything), so its version comes from --version. pg_dump starts beside the
    // version check, so the stand-in also writes output and exits 0: none of it may be committed.
    const c = await standIn('old-bin', 'pg_dump', 'if [ "$1" = --version ]; then echo "pg_dump (PostgreSQL) 9.6.24"; else head -c 3000000 /dev/urandom; fi');
    const before = await snapshotCount();
    await expect(backup(c, 'db')).rejects.toThrow(/pg_dump 9\.6 is older than the server .* \(PostgreSQL \d+\.\d+\) and cannot dump it: install the PostgreSQL \d+ client tools/);
    expect(await snapshotCount()).toBe(before);
    c.close();
  });

  it('stores roles as a second part with globals: true, and restores them first with --globals', async () => {
    const role = `lifeboat_role_${suffix}`;
    await sql('postgres', `CREATE ROLE ${role} NOLOGIN`);
    const c = await ws.context(job(', globals: true'));
    try {
      const r = await backup(c, 'db');
      expect(r.manifest!.parts?.map((p) => p.name)).toEqual(['globals']);
      const files = await readdir(join(ws.dir, 'site-b', 'jobs', 'db', 'snapshots', r.snapshotId));
      expect(files.sort()).toEqual(['globals.sql.zst.age', 'manifest.json', 'payload.pgdump.zst.age']);
      await sql('postgres', `DROP ROLE ${role}`);
      const dst = `lifeboat_glb_${suffix}`;
      created.push(dst);
      const rr = await restore(c, 'db', { snapshot: r.snapshotId, target: `${server}/${dst}`, globals: true });
      expect(rr.facts).toMatchObject({ database: dst, 'globals.errors': expect.any(Number) });
      expect(await sql('postgres', `SELECT count(*) FROM pg_roles WHERE rolname = '${role}'`)).toBe('1');
    } finally {
      c.close();
      await sql('postgres', `DROP ROLE IF EXISTS ${role}`).catch(() => {});
    }
  });

  it('keeps the password out of argv, logs and manifests', async () => {
    const c = await ws.context(job(', password: "${env:LB_TEST_PGPASS}"'), { ...process.env, LB_TEST_PGPASS: 'pg-secret-value-4711' });
    const r = await backup(c, 'db');
    const manifest = await readFile(join(ws.dir, 'site-a', 'jobs', 'db', 'snapshots', r.snapshotId, 'manifest.json'), 'utf8');
    expect(manifest).not.toContain('pg-secret-value-4711');
    c.close();
  });

  it("lists the dumped tables in the manifest, as the job's schema filters select them", async () => {
    // The server's version and the table list come from one psql run beside pg_dump.
    await sql(src, 'CREATE SCHEMA side; CREATE TABLE side.extra (id int); ANALYZE side.extra');
    const names = async (extra: string): Promise<string[] | undefined> => {
      const c = await ws.context(job(extra));
      try {
        const r = await backup(c, 'db');
        expect(r.manifest!.source.facts).toMatchObject({ serverVersion: expect.stringMatching(/^\d+\.\d+/) });
        return r.manifest!.source.tables?.map((t) => t.name);
      } finally {
        c.close();
      }
    };
    expect(await names('')).toEqual(expect.arrayContaining(['public.customers', 'public.orders', 'public.events_2025', 'side.extra']));
    expect(await names(', schemas: [side]')).toEqual(['side.extra']);
    expect(await names(', excludeSchemas: [side]')).not.toContain('side.extra');
    // pg_dump's table patterns have a syntax of their own: no list rather than a wrong one.
    expect(await names(', tables: [side.extra]')).toBeUndefined();
  });
});

async function snapshotCount(): Promise<number> {
  return (await readdir(join(ws.dir, 'site-a', 'jobs', 'db', 'snapshots')).catch(() => [])).length;
}
