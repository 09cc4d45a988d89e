// Drills of PostgreSQL and MariaDB jobs against the running servers: a scratch database created,
// restored, checked (SQL, freshness, schema drift) and dropped; an ephemeral PostgreSQL cluster; a
// drill killed mid-way leaves a scratch database that the next daemon start removes, and one that a
// drill in another process still holds is left alone.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DbConnection } from '../../src/config/model.ts';
import { removeLeftovers } from '../../src/drills/leftovers.ts';
import { scratchDbName } from '../../src/drills/scratch.ts';
import { backup } from '../../src/operations/backup.ts';
import type { Context } from '../../src/operations/context.ts';
import { drill } from '../../src/operations/drill.ts';
import { freePort } from '../helpers/ceph.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';
import { execFileP } from '../helpers/streams.ts';

const PG = { PGHOST: process.env.LIFEBOAT_TEST_PGHOST ?? '127.0.0.1', PGPORT: process.env.LIFEBOAT_TEST_PGPORT ?? '5432', PGUSER: process.env.LIFEBOAT_TEST_PGUSER ?? 'postgres' };
const pgServer = `postgres://${PG.PGUSER}@${PG.PGHOST}:${PG.PGPORT}`;
const myServer = 'mysql://root@127.0.0.1:3306';
const suffix = randomBytes(3).toString('hex');
const pgDb = `lifeboat_drillsrc_${suffix}`;
const myDb = `lifeboat_drillsrc_${suffix}`;
const bin = join(import.meta.dirname, '..', '..', 'bin', 'lifeboat');
let ws: Workspace;
let ctx: Context;

const pg = async (db: string, sql: string): Promise<string> =>
  (await execFileP('psql', ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-d', db, '-c', sql], { env: { ...process.env, ...PG } })).stdout.trim();
const my = async (sql: string): Promise<string> => (await execFileP('mariadb', ['-h', '127.0.0.1', '-P', '3306', '-u', 'root', '-N', '-B', '-e', sql])).stdout.trim();
const pgScratch = async (): Promise<string[]> => (await pg('postgres', "SELECT datname FROM pg_database WHERE datname LIKE 'lifeboat\\_drill\\_%' ORDER BY 1")).split('\n').filter(Boolean);

const checks = `      checks:
        - { name: orders present, sql: "SELECT count(*) FROM orders", expect: { min: 500 } }
        - { freshness: { table: orders, column: created_at }, within: 1h }
        - { schemaDrift: { tolerance: 0.05 } }
`;

beforeAll(async () => {
  ws = await workspace();
  await pg('postgres', `CREATE DATABASE ${pgDb}`);
  await pg(pgDb, "CREATE TABLE orders (id serial PRIMARY KEY, created_at timestamptz NOT NULL); INSERT INTO orders (created_at) SELECT now() - g * interval '1 second' FROM generate_series(1, 800) g; CREATE TABLE notes (t text); ANALYZE;");
  await my(`CREATE DATABASE ${myDb}; USE ${myDb}; CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, created_at DATETIME NOT NULL); INSERT INTO orders (created_at) SELECT NOW() - INTERVAL seq SECOND FROM seq_1_to_600; ANALYZE TABLE orders;`);
  ctx = await ws.context(
    `sites:\n  a: { type: fs, path: ./site-a }\njobs:\n` +
      `  pg:\n    source: { type: postgres, url: "${pgServer}/${pgDb}" }\n    drill:\n      target: { type: postgres, url: "${pgServer}/postgres" }\n${checks}` +
      `  pg-ephemeral:\n    source: { type: postgres, url: "${pgServer}/${pgDb}" }\n    drill:\n      target: { type: postgres, ephemeral: true }\n${checks}` +
      `  my:\n    source: { type: mysql, url: "${myServer}/${myDb}" }\n    drill:\n      target: { type: mysql, url: "${myServer}" }\n${checks}` +
      `  pg-slow:\n    source: { type: postgres, url: "${pgServer}/${pgDb}" }\n    drill:\n      target: { type: postgres, url: "${pgServer}/postgres" }\n      checks:\n        - { command: [sleep, "60"] }\n`,
  );
  for (const j of ['pg', 'pg-ephemeral', 'my', 'pg-slow']) expect((await backup(ctx, j)).ok).toBe(true);
}, 60_000);
afterAll(async () => {
  ctx?.close();
  await pg('postgres', `DROP DATABASE IF EXISTS ${pgDb} WITH (FORCE)`).catch(() => {});
  await my(`DROP DATABASE IF EXISTS ${myDb}`).catch(() => {});
  await ws?.cleanup();
});

describe('database drills', () => {
  it('PostgreSQL: records the table list at dump time, restores into a scratch database, checks it, and drops it', async () => {
    const before = await pgScratch();
    const { report } = await drill(ctx, 'pg');
    expect(report.error).toBeUndefined();
    expect(report.checks.map((c) => [c.name, c.passed, c.observed.replace(/is .* before/, 'is … before')])).toEqual([
      ['orders present', true, '800'],
      ['orders.created_at fresh', true, 'newest created_at is … before the capture time'],
      ['schema drift', true, '2 tables match'],
    ]);
    expect(report.outcome).toBe('passed');
    expect(report.target.description).toMatch(/^database lifeboat_drill_pg_[0-9a-f]{8} on postgres:\/\//);
    expect(await pgScratch()).toEqual(before);
  });

  it('PostgreSQL: an ephemeral cluster, when there is no scratch server', async () => {
    const { report } = await drill(ctx, 'pg-ephemeral');
    expect(report.error).toBeUndefined();
    expect(report.outcome).toBe('passed');
    expect(report.target.kind).toBe('ephemeral postgres cluster');
    expect(report.phases.prepareSeconds).toBeGreaterThan(0);
  }, 120_000);

  it('MariaDB: restores into a scratch database, checks it, and drops it', async () => {
    const { report } = await drill(ctx, 'my');
    expect(report.error).toBeUndefined();
    expect(report.checks.map((c) => [c.name, c.passed])).toEqual([
      ['orders present', true],
      ['orders.created_at fresh', true],
      ['schema drift', true],
    ]);
    expect(report.checks[0]!.observed).toBe('600');
    expect(await my("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name LIKE 'lifeboat\\_drill\\_%'")).toBe('0');
  });

  it('schema drift names the tables that differ from what the source had at dump time', async () => {
    const r = await backup(ctx, 'pg');
    // Make the recorded inventory disagree with the dump: a table the restore lacks, a count far off.
    const file = join(ws.dir, 'site-a', 'jobs', 'pg', 'snapshots', r.snapshotId!, 'manifest.json');
    const m = JSON.parse(await readFile(file, 'utf8')) as { source: { tables: { name: string; rows: number | null }[] } };
    expect(m.source.tables).toEqual([
      { name: 'public.notes', rows: 0 },
      { name: 'public.orders', rows: 800 },
    ]);
    m.source.tables = [{ name: 'public.ghost', rows: 10 }, { name: 'public.orders', rows: 5000 }];
    await writeFile(file, JSON.stringify(m));
    const { report } = await drill(ctx, 'pg');
    expect(report.outcome).toBe('failed');
    expect(report.checks.find((c) => c.kind === 'schemaDrift')).toMatchObject({
      passed: false,
      observed: 'public.ghost missing; public.orders has 800 rows, the source had about 5000; public.notes was not in the source',
    });
  });

  it('the sweep leaves a scratch database that a drill in another process still holds, and removes it once that process is gone', async () => {
    const conn = (job: string): DbConnection => (ctx.job(job).drill!.target as { connection: DbConnection }).connection;
    const pgName = scratchDbName('pg');
    const myName = scratchDbName('my');
    // Another Lifeboat process, as a drill holds its scratch databases (src/drills/guard.ts).
    const guard = new URL('../../src/drills/guard.ts', import.meta.url).href;
    const tools = new URL('../../src/sources/mysql/mysql-tools.ts', import.meta.url).href;
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { holdPostgres, holdMysql } from '${guard}'; import { findTools } from '${tools}';
         const c = JSON.parse(process.env.CONNS);
         await holdPostgres({}, c.pg, '${pgName}'); await holdMysql(await findTools(), c.my, '${myName}');
         console.log('held'); setInterval(() => {}, 1000);`,
      ],
      { env: { ...process.env, CONNS: JSON.stringify({ pg: conn('pg'), my: conn('my') }) }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.on('data', (b: Buffer) => b.toString().includes('held') && resolve());
        holder.once('exit', (code) => reject(new Error(`the holder exited with ${code}`)));
      });
      await pg('postgres', `CREATE DATABASE ${pgName}`);
      await my(`CREATE DATABASE ${myName}`);
      const jobs = [ctx.job('pg'), ctx.job('my')];
      expect(await removeLeftovers(jobs)).toEqual([]);
      expect(await pgScratch()).toContain(pgName);
      expect(await my(`SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '${myName}'`)).toBe('1');
      // Killed, it cannot release anything itself: its client sessions end with it, and so do the locks.
      holder.kill('SIGKILL');
      await once(holder, 'exit');
      let removed: string[] = [];
      for (let i = 0; i < 50 && removed.length < 2; i++) {
        removed = [...removed, ...(await removeLeftovers(jobs))];
        if (removed.length < 2) await new Promise((r) => setTimeout(r, 200));
      }
      expect(removed.sort()).toEqual([`mysql database ${myName}`, `postgres database ${pgName}`]);
    } finally {
      holder.kill('SIGKILL');
      await pg('postgres', `DROP DATABASE IF EXISTS ${pgName}`).catch(() => {});
      await my(`DROP DATABASE IF EXISTS ${myName}`).catch(() => {});
    }
  }, 30_000);

  it('a drill killed mid-way leaves its scratch database, which the next daemon start removes', async () => {
    const before = await pgScratch();
    const child = spawn(process.execPath, [bin, 'drill', 'pg-slow', '-c', join(ws.dir, 'lifeboat.yaml')], { stdio: 'ignore' });
    const deadline = Date.now() + 30_000;
    let left: string[] = [];
    while (Date.now() < deadline) {
      left = (await pgScratch()).filter((d) => d.startsWith('lifeboat_drill_pg_slow_') && !before.includes(d));
      // Restored and into the 60 s check: the database has the table.
      if (left.length === 1 && (await pg(left[0]!, "SELECT count(*) FROM pg_tables WHERE tablename = 'orders'").catch(() => '0')) === '1') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(left).toHaveLength(1);
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(await pgScratch()).toContain(left[0]);
    // The next daemon start removes it (and says so) before any drill of its own.
    const port = await freePort();
    await writeFile(join(ws.dir, 'daemon.yaml'), `${await readFile(join(ws.dir, 'lifeboat.yaml'), 'utf8')}api: { listen: "127.0.0.1:${port}" }\n`);
    const daemon = spawn(process.execPath, [bin, 'daemon', '-c', join(ws.dir, 'daemon.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    daemon.stdout!.on('data', (b: Buffer) => (log += b.toString()));
    try {
      for (let i = 0; i < 150 && !log.includes('removed scratch targets left by interrupted drills'); i++) await new Promise((r) => setTimeout(r, 200));
      expect(log).toContain(`postgres database ${left[0]}`);
      expect(await pgScratch()).not.toContain(left[0]);
    } finally {
      daemon.kill('SIGTERM');
      await once(daemon, 'exit');
    }
    expect(await removeLeftovers([...ctx.config.jobs.values()])).toEqual([]);
  }, 60_000);
});
