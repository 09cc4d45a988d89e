/**
 * PostgreSQL, on two databases of the local server: `pgbench -i -s SCALE` (compressible) and a
 * table of random text and bytea (hardly compressible).
 * - backup to one fs site next to `pg_dump -Fc -Z0 | zstd -3 -T1 | age -r R > file; sync file`.
 *   Target ≤ 1.15×.
 * - restore into a new database next to `createdb && age -d | zstd -d | pg_restore` of a local
 *   copy of the very payload Lifeboat stored, with the pg_restore options Lifeboat uses
 *   (--exit-on-error --single-transaction). Target ≤ 1.1×.
 * - pgbench only: a restore drill (scratch database on the same server, one SQL check): its
 *   measured recovery time next to `createdb && pg_restore --no-owner` of a local dump file.
 *   Target ≤ 1.15×.
 * - The same backups and restores run by a daemon (`daemon-ops.ts`: requested through the API,
 *   timed by the daemon's record of the operation), next to the same reference runs: what a
 *   scheduled backup costs, without the CLI's ~0.25 s of Node start-up and module loading. Each
 *   round rotates which of the three sides goes first (a full run's six rounds put each side first
 *   twice), and the server writes out its buffers before each side (settle()).
 * Skipped (and said so) when the server is not reachable.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { measure, type Measured } from '../measure.ts';
import { alternate, benchWorkspace, emptySite, latestPayload, lifeboatCmd, median, pairedRatios, rotate, warm, type Row } from './common.ts';
import { apiBlock, BenchDaemon } from './daemon-ops.ts';

const PG = { PGHOST: process.env.PGHOST ?? '127.0.0.1', PGPORT: process.env.PGPORT ?? '5432', PGUSER: process.env.PGUSER ?? 'postgres' };
const env = { ...process.env, ...PG };
const server = `postgres://${PG.PGUSER}@${PG.PGHOST}:${PG.PGPORT}`;

function psql(sql: string, db = 'postgres'): string {
  return execFileSync('psql', ['-X', '-A', '-t', '-q', '-d', db, '-c', sql], { env }).toString().trim();
}

/** Creates `db` with `fill` unless it exists and `ready` says it is complete. */
function ensureDb(db: string, ready: () => boolean, fill: () => void): void {
  const exists = psql(`SELECT count(*) FROM pg_database WHERE datname = '${db}'`) === '1';
  if (exists && ready()) return;
  if (exists) psql(`DROP DATABASE ${db}`);
  psql(`CREATE DATABASE ${db}`);
  fill();
  psql('VACUUM ANALYZE', db);
}

function ensurePgbench(scale: number): string {
  const db = `lifeboat_bench_pgbench_${scale}`;
  ensureDb(
    db,
    () => psql('SELECT count(*) FROM pgbench_branches', db) === String(scale),
    () => execFileSync('pgbench', ['-i', '-q', '-s', String(scale), db], { env, stdio: 'ignore' }),
  );
  return db;
}

/** Random text and random bytea: what compresses least (hex in pg_dump's COPY halves at best). */
function ensureNoise(rows: number): string {
  const db = `lifeboat_bench_noise_${rows}`;
  ensureDb(
    db,
    () => psql('SELECT count(*) FROM noise', db) === String(rows),
    () =>
      psql(
        `SELECT setseed(0.42); CREATE TABLE noise AS SELECT g AS id, md5(random()::text) || md5(random()::text) AS t, decode(md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex') AS b FROM generate_series(1, ${rows}) g; ALTER TABLE noise ADD PRIMARY KEY (id);`,
        db,
      ),
  );
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
  const pgbench = ensurePgbench(scale);
  const noise = ensureNoise(scale * 50_000);
  return [
    ...(await databaseRows(pgbench, `pgbench -s ${scale}`, rounds, `SELECT count(*) FROM pgbench_accounts`, scale * 100_000)),
    ...(await databaseRows(noise, `${scale * 50_000} rows of random text and bytea`, rounds)),
  ];
}

/**
 * Before each measured side: the server writes out what the step before left in its buffers (a
 * restore's tables, a dropped database's files) outside the timing. Otherwise a checkpoint that
 * max_wal_size starts mid-run, or the writeback of the previous restore, lands on whichever side
 * runs next: single rounds swung by ±40%.
 */
function settle(): void {
  psql('CHECKPOINT');
}

/** A command, measured after the server settled (and a `sync`, which measure() does). */
function measured(command: string): Promise<Measured> {
  settle();
  return measure(command, env);
}

/** A daemon's operation, measured like the commands: after a checkpoint and a \`sync\`, outside the timing. */
function inDaemon(run: () => Promise<Measured>): Promise<Measured> {
  settle();
  spawnSync('sync');
  return run();
}

async function databaseRows(db: string, label: string, rounds: number, check?: string, expected?: number): Promise<Row[]> {
  const bytes = Number(psql(`SELECT pg_database_size('${db}')`));
  const drill = check ? `    drill:\n      target: { type: postgres, url: "${server}/postgres" }\n      checks:\n        - { sql: "${check}", expect: { equals: ${expected} } }\n` : '';
  const source = `    source: { type: postgres, url: "${server}/${db}" }\n`;
  const ws = await benchWorkspace(() => `sites:\n  a: { type: fs, path: ./a }\njobs:\n  pg:\n${source}${drill}`);
  const api = await apiBlock();
  const daemonConfig = join(ws.dir, 'daemon.yaml');
  const recipients = (await readFile(ws.config, 'utf8')).split('\n').slice(0, 3).join('\n');
  await writeFile(daemonConfig, `${recipients}\nsites:\n  d: { type: fs, path: ./d }\n${api.yaml}jobs:\n  pg:\n${source}`);
  const dump = join(ws.dir, 'local.pgdump');
  try {
    // Also warms the server's caches, so that the first measured run is not the only cold one.
    execFileSync('sh', ['-c', `pg_dump -Fc -Z0 -d ${db} > "${dump}"`], { env });
    const backups = { ours: [] as Measured[], daemon: [] as Measured[], reference: [] as Measured[] };
    const restores = { ours: [] as Measured[], daemon: [] as Measured[], reference: [] as Measured[] };
    const drills = { ours: [] as Measured[], reference: [] as Measured[] };
    const oursDb = 'lifeboat_bench_restore_ours';
    const daemonDb = 'lifeboat_bench_restore_daemon';
    const theirsDb = 'lifeboat_bench_restore_ref';
    const dropAll = (): void => [oursDb, daemonDb, theirsDb].forEach((d) => psql(`DROP DATABASE IF EXISTS ${d}`));
    // The daemon has a site of its own (./d), since the CLI's is emptied every round.
    const daemon = await BenchDaemon.start(ws.dir, daemonConfig, api, env);
    try {
      // Warm-up, as a daemon is warm from its earlier runs.
      await daemon.run('/jobs/pg/backups');
      await daemon.run('/jobs/pg/restores', { target: `${server}/${daemonDb}` });
      dropAll();
      for (let i = 0; i < rounds; i++) {
        await emptySite(join(ws.dir, 'a'));
        await rotate(i, [
          [() => measured(`${lifeboatCmd} backup pg -c "${ws.config}"`), backups.ours],
          [() => inDaemon(() => daemon.run('/jobs/pg/backups')), backups.daemon],
          [() => measured(`pg_dump -Fc -Z0 -d ${db} | zstd -3 -T1 -q | age -r ${ws.recipient} > "${ws.dir}/ref.age" && sync "${ws.dir}/ref.age"`), backups.reference],
        ]);
        const payload = await latestPayload(join(ws.dir, 'a'), 'pg');
        warm(payload, await latestPayload(join(ws.dir, 'd'), 'pg'));
        dropAll();
        await rotate(i, [
          [() => measured(`${lifeboatCmd} restore pg -c "${ws.config}" --to ${server}/${oursDb}`), restores.ours],
          [() => inDaemon(() => daemon.run('/jobs/pg/restores', { target: `${server}/${daemonDb}` })), restores.daemon],
          [() => measured(`createdb ${theirsDb} && age -d -i "${ws.identity}" "${payload}" | zstd -d -q | pg_restore --exit-on-error --single-transaction -d ${theirsDb}`), restores.reference],
        ]);
        dropAll();
        if (!check) continue;
        // The drill's own measure is its recovery time (download start to verified restore).
        const report = join(ws.dir, 'drill.json');
        const drillOur = async (): Promise<Measured> => {
          const m = await measured(`${lifeboatCmd} drill pg -c "${ws.config}" --json > "${report}"`);
          return { ...m, wall: (JSON.parse(await readFile(report, 'utf8')) as { recoveryTimeSeconds: number }).recoveryTimeSeconds };
        };
        const drillRef = (): Promise<Measured> =>
          measured(`createdb ${theirsDb} && pg_restore --exit-on-error --single-transaction --no-owner -d ${theirsDb} "${dump}" && psql -X -q -t -d ${theirsDb} -c "${check}" > /dev/null`);
        await alternate(i, drillOur, drillRef, drills);
        psql(`DROP DATABASE IF EXISTS ${theirsDb}`);
      }
    } finally {
      await daemon.stop();
    }
    const rows: Row[] = [
      {
        scenario: `PostgreSQL backup, ${label}, 1 fs site`,
        lifeboat: median(backups.ours),
        reference: median(backups.reference),
        paired: pairedRatios(backups.ours, backups.reference),
        referenceName: 'pg_dump -Fc -Z0 \\| zstd -3 -T1 \\| age > file; sync',
        bytes,
        target: { ratio: 1.15 },
      },
      {
        scenario: `PostgreSQL restore, ${label}, from 1 fs site`,
        lifeboat: median(restores.ours),
        reference: median(restores.reference),
        paired: pairedRatios(restores.ours, restores.reference),
        referenceName: 'createdb; age -d \\| zstd -d \\| pg_restore of a local payload',
        bytes,
        target: { ratio: 1.1 },
      },
      {
        scenario: `PostgreSQL backup, ${label}, 1 fs site, run by the daemon (API request → committed)`,
        lifeboat: median(backups.daemon),
        reference: median(backups.reference),
        paired: pairedRatios(backups.daemon, backups.reference),
        referenceName: 'the same reference runs',
        bytes,
        target: { ratio: 1.15 },
      },
      {
        scenario: `PostgreSQL restore, ${label}, from 1 fs site, run by the daemon (API request → restored)`,
        lifeboat: median(restores.daemon),
        reference: median(restores.reference),
        paired: pairedRatios(restores.daemon, restores.reference),
        referenceName: 'the same reference runs',
        bytes,
        target: { ratio: 1.1 },
      },
    ];
    if (check) {
      rows.push({
        scenario: `PostgreSQL restore drill (recovery time), ${label}, from 1 fs site`,
        lifeboat: median(drills.ours),
        reference: median(drills.reference),
        paired: pairedRatios(drills.ours, drills.reference),
        referenceName: `createdb; pg_restore --no-owner of a local dump file; the same check`,
        bytes,
        target: { ratio: 1.15 },
      });
    }
    return rows;
  } finally {
    await rm(ws.dir, { recursive: true, force: true });
  }
}
