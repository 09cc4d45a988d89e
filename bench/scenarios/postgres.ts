/**
 * PostgreSQL: a `pgbench -i -s SCALE` database on the local server.
 * - backup to one fs site next to `pg_dump -Fc -Z0 | zstd -3 -T1 | age -r R > file; sync file`
 * - restore into a new database next to `createdb && pg_restore` of a local dump file, with the
 *   same pg_restore options Lifeboat uses (--exit-on-error --single-transaction)
 * - a restore drill (scratch database on the same server, one SQL check): its measured recovery
 *   time next to `createdb && pg_restore --no-owner` of the local dump file
 * Targets: all ≤ 1.15× the reference. Skipped (and said so) when the server is not reachable.
 */
import { execFileSync } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { measure, type Measured } from '../measure.ts';
import { alternate, benchWorkspace, lifeboatCmd, median, type Row } from './common.ts';

const PG = { PGHOST: process.env.PGHOST ?? '127.0.0.1', PGPORT: process.env.PGPORT ?? '5432', PGUSER: process.env.PGUSER ?? 'postgres' };
const env = { ...process.env, ...PG };
const server = `postgres://${PG.PGUSER}@${PG.PGHOST}:${PG.PGPORT}`;

function psql(sql: string, db = 'postgres'): string {
  return execFileSync('psql', ['-X', '-A', '-t', '-q', '-d', db, '-c', sql], { env }).toString().trim();
}

function ensurePgbench(scale: number): string {
  const db = `lifeboat_bench_pgbench_${scale}`;
  const exists = psql(`SELECT count(*) FROM pg_database WHERE datname = '${db}'`) === '1';
  if (exists && psql('SELECT count(*) FROM pgbench_branches', db) === String(scale)) return db;
  if (exists) psql(`DROP DATABASE ${db}`);
  psql(`CREATE DATABASE ${db}`);
  execFileSync('pgbench', ['-i', '-q', '-s', String(scale), db], { env, stdio: 'ignore' });
  psql('VACUUM ANALYZE', db);
  return db;
}

export function postgresAvailable(): boolean {
  try {
    psql('SELECT 1');
    return true;
  } catch {
    return false;
  }
}

export async function postgresScenarios(scale: number, rounds: number): Promise<Row[]> {
  const db = ensurePgbench(scale);
  const bytes = Number(psql(`SELECT pg_database_size('${db}')`));
  const ws = await benchWorkspace(
    () =>
      `sites:\n  a: { type: fs, path: ./a }\njobs:\n  pg:\n    source: { type: postgres, url: "${server}/${db}" }\n` +
      `    drill:\n      target: { type: postgres, url: "${server}/postgres" }\n      checks:\n        - { sql: "SELECT count(*) FROM pgbench_accounts", expect: { equals: ${scale * 100_000} } }\n`,
  );
  const dump = join(ws.dir, 'local.pgdump');
  try {
    // Also warms the server's caches, so that the first measured run is not the only cold one.
    execFileSync('sh', ['-c', `pg_dump -Fc -Z0 -d ${db} > "${dump}"`], { env });
    const backups = { ours: [] as Measured[], reference: [] as Measured[] };
    const restores = { ours: [] as Measured[], reference: [] as Measured[] };
    const drills = { ours: [] as Measured[], reference: [] as Measured[] };
    for (let i = 0; i < rounds; i++) {
      await rm(join(ws.dir, 'a'), { recursive: true, force: true });
      const ours = (): Promise<Measured> => measure(`${lifeboatCmd} backup pg -c "${ws.config}"`, env);
      const ref = (): Promise<Measured> => measure(`pg_dump -Fc -Z0 -d ${db} | zstd -3 -T1 -q | age -r ${ws.recipient} > "${ws.dir}/ref.age" && sync "${ws.dir}/ref.age"`, env);
      await alternate(i, ours, ref, backups);
      const oursDb = 'lifeboat_bench_restore_ours';
      const theirsDb = 'lifeboat_bench_restore_ref';
      psql(`DROP DATABASE IF EXISTS ${oursDb}`);
      psql(`DROP DATABASE IF EXISTS ${theirsDb}`);
      const restoreOur = (): Promise<Measured> => measure(`${lifeboatCmd} restore pg -c "${ws.config}" --to ${server}/${oursDb}`, env);
      const restoreRef = (): Promise<Measured> => measure(`createdb ${theirsDb} && pg_restore --exit-on-error --single-transaction -d ${theirsDb} "${dump}"`, env);
      await alternate(i, restoreOur, restoreRef, restores);
      psql(`DROP DATABASE IF EXISTS ${oursDb}`);
      psql(`DROP DATABASE IF EXISTS ${theirsDb}`);
      // The drill's own measure is its recovery time (download start to verified restore).
      const report = join(ws.dir, 'drill.json');
      const drillOur = async (): Promise<Measured> => {
        const m = await measure(`${lifeboatCmd} drill pg -c "${ws.config}" --json > "${report}"`, env);
        return { ...m, wall: (JSON.parse(await readFile(report, 'utf8')) as { recoveryTimeSeconds: number }).recoveryTimeSeconds };
      };
      const drillRef = (): Promise<Measured> => measure(`createdb ${theirsDb} && pg_restore --exit-on-error --single-transaction --no-owner -d ${theirsDb} "${dump}" && psql -X -q -t -d ${theirsDb} -c "SELECT count(*) FROM pgbench_accounts" > /dev/null`, env);
      await alternate(i, drillOur, drillRef, drills);
      psql(`DROP DATABASE IF EXISTS ${theirsDb}`);
    }
    return [
      {
        scenario: `PostgreSQL backup, pgbench -s ${scale}, 1 fs site`,
        lifeboat: median(backups.ours),
        reference: median(backups.reference),
        referenceName: 'pg_dump -Fc -Z0 \\| zstd -3 -T1 \\| age > file; sync',
        bytes,
        target: { ratio: 1.15 },
      },
      {
        scenario: `PostgreSQL restore, pgbench -s ${scale}, from 1 fs site`,
        lifeboat: median(restores.ours),
        reference: median(restores.reference),
        referenceName: 'createdb; pg_restore of a local dump file',
        bytes,
        target: { ratio: 1.15 },
      },
      {
        scenario: `PostgreSQL restore drill (recovery time), pgbench -s ${scale}, from 1 fs site`,
        lifeboat: median(drills.ours),
        reference: median(drills.reference),
        referenceName: 'createdb; pg_restore --no-owner of a local dump file; the same count(*)',
        bytes,
        target: { ratio: 1.15 },
      },
    ];
  } finally {
    await rm(ws.dir, { recursive: true, force: true });
  }
}
