/**
 * Scratch targets: where a drill restores. Each is created for one drill and removed afterwards,
 * whatever happened; its name starts with `lifeboat_drill_` (databases) or `lifeboat-drill-`
 * (temporary folders) so that leftovers of a crash can be recognised and removed (leftovers.ts);
 * a scratch database's lock, held while it exists, tells a leftover from one in use (guard.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { DbConnection, DrillTarget } from '../config/model.ts';
import { describeDb } from '../sources/db-url.ts';
import { findTools, ident, literal, query } from '../sources/mysql/mysql-tools.ts';
import { TABLE_STATS } from '../sources/postgres/postgres-source.ts';
import type { PgTools } from '../sources/postgres/pg-bin.ts';
import { libpqEnv, psql, psqlRows } from '../sources/postgres/pg-tools.ts';
import type { TableStat, TargetOptions } from '../sources/source.ts';
import { startEphemeralPostgres } from './ephemeral-postgres.ts';
import { holdMysql, holdPostgres } from './guard.ts';

export const DB_PREFIX = 'lifeboat_drill_';
export const DIR_PREFIX = 'lifeboat-drill-';

/** A database the checks can ask questions of. */
export interface ScratchDb {
  readonly engine: 'postgres' | 'mysql' | 'sqlite';
  rows(sql: string): Promise<(string | null)[][]>;
  /** SQL giving the newest value of a column as Unix seconds. */
  newestEpochSql(table: string, column: string): string;
  /** Every table with its exact row count. */
  tableCounts(): Promise<TableStat[]>;
}

export interface Scratch {
  /** "postgres database", "directory", … */
  readonly kind: string;
  /** Where, without secrets: for the report. */
  readonly description: string;
  /** The restore target handed to the source. */
  readonly target: string;
  readonly options: TargetOptions;
  /** Environment for command checks: the target, and for databases the client settings. */
  readonly env: NodeJS.ProcessEnv;
  readonly db?: ScratchDb;
  /** The restored folder (directory targets). */
  readonly dir?: string;
  remove(): Promise<void>;
}

/** A database name for one drill: `lifeboat_drill_<job>_<random>`, within PostgreSQL's 63 bytes. */
export function scratchDbName(job: string): string {
  return `${DB_PREFIX}${job.replace(/[^a-z0-9]/g, '_').slice(0, 32)}_${randomBytes(4).toString('hex')}`;
}

/** The part of a scratch name that marks the job's leftovers. */
export function scratchDbPrefix(job: string): string {
  return `${DB_PREFIX}${job.replace(/[^a-z0-9]/g, '_').slice(0, 32)}_`;
}

const pgQuote = (name: string): string => `"${name.replace(/"/g, '""')}"`;

async function postgresDb(server: DbConnection, job: string, tools: PgTools, stop?: () => Promise<void>): Promise<Scratch> {
  const database = scratchDbName(job);
  const conn: DbConnection = { ...server, database };
  // Held until the database is dropped, so that no leftover sweep takes it for one (guard.ts). An
  // ephemeral cluster is this process's own.
  const guard = stop ? undefined : await holdPostgres(tools, server, database);
  const db: ScratchDb = {
    engine: 'postgres',
    rows: (sql) => psqlRows(tools, conn, sql, database),
    newestEpochSql: (table, column) => `SELECT extract(epoch FROM max(${pgQuote(column)}))::float8 FROM ${table.split('.').map(pgQuote).join('.')}`,
    async tableCounts() {
      const names = (await psqlRows(tools, conn, `${TABLE_STATS} ORDER BY 1`, database)).map((r) => r[0]!);
      if (names.length === 0) return [];
      const counts = await psqlRows(tools, conn, names.map((n) => `SELECT count(*) FROM ${pgQuote(n.slice(0, n.indexOf('.')))}.${pgQuote(n.slice(n.indexOf('.') + 1))}`).join(' UNION ALL '), database);
      return names.map((name, i) => ({ name, rows: Number(counts[i]?.[0] ?? 0) }));
    },
  };
  return {
    kind: stop ? 'ephemeral postgres cluster' : 'postgres database',
    description: `database ${database} on ${describeDb({ ...server, database: undefined })}`,
    target: describeDb(conn),
    // Without ownership: the roles of the source need not exist on a scratch server.
    options: { noOwner: true, ...(server.password === undefined ? {} : { password: server.password }) },
    env: { ...libpqEnv(conn), LIFEBOAT_DRILL_TARGET: describeDb(conn) },
    db,
    async remove() {
      if (stop) return stop();
      const drop = (force: boolean): Promise<string> => psql(tools, server, `DROP DATABASE IF EXISTS :"db"${force ? ' WITH (FORCE)' : ''};\n`, { db: database }, 'postgres');
      try {
        // WITH (FORCE) ends sessions a check left open; servers before 13 do not know it.
        await drop(true).catch(() => drop(false));
      } finally {
        await guard?.release();
      }
    },
  };
}

async function mysqlDb(server: DbConnection, job: string): Promise<Scratch> {
  const database = scratchDbName(job);
  const conn: DbConnection = { ...server, database };
  const tools = await findTools();
  const guard = await holdMysql(tools, server, database);
  const rows = async (sql: string): Promise<(string | null)[][]> =>
    (await query(tools, conn, `USE ${ident(database)}; ${sql}`))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split('\t').map((cell) => (cell === 'NULL' ? null : cell.replace(/\\t/g, '\t').replace(/\\n/g, '\n').replace(/\\\\/g, '\\'))));
  return {
    kind: 'mysql database',
    description: `database ${database} on ${describeDb({ ...server, database: undefined })}`,
    target: describeDb(conn),
    options: server.password === undefined ? {} : { password: server.password },
    env: { LIFEBOAT_DRILL_TARGET: describeDb(conn) },
    db: {
      engine: 'mysql',
      rows,
      newestEpochSql: (table, column) => `SELECT UNIX_TIMESTAMP(MAX(${ident(column)})) FROM ${ident(table)}`,
      async tableCounts() {
        const names = (await rows(`SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema = ${literal(database)} ORDER BY 1`)).map((r) => r[0]!);
        if (names.length === 0) return [];
        const counts = await rows(names.map((n) => `SELECT COUNT(*) FROM ${ident(n)}`).join(' UNION ALL '));
        return names.map((name, i) => ({ name, rows: Number(counts[i]?.[0] ?? 0) }));
      },
    },
    async remove() {
      try {
        await query(tools, server, `DROP DATABASE IF EXISTS ${ident(database)}`);
      } finally {
        await guard.release();
      }
    },
  };
}

/** A private temporary folder for one drill, marked with the owning process for leftover cleanup. */
async function scratchDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), DIR_PREFIX));
  await writeFile(join(dir, 'owner.pid'), `${process.pid}\n`);
  return dir;
}

function sqliteDb(file: string): ScratchDb {
  const rows = (sql: string): Promise<(string | null)[][]> => {
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      const stmt = db.prepare(sql);
      stmt.setReturnArrays(true);
      return Promise.resolve((stmt.all() as unknown as unknown[][]).map((r) => r.map((v) => (v === null ? null : String(v)))));
    } finally {
      db.close();
    }
  };
  const q = pgQuote;
  return {
    engine: 'sqlite',
    rows,
    // Timestamps in SQLite are text (ISO 8601) or numbers (Unix seconds): unixepoch() reads both.
    newestEpochSql: (table, column) => `SELECT max(CASE typeof(${q(column)}) WHEN 'text' THEN unixepoch(${q(column)}) ELSE ${q(column)} END) FROM ${q(table)}`,
    async tableCounts() {
      const names = (await rows("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1")).map((r) => r[0]!);
      return Promise.all(names.map(async (name) => ({ name, rows: Number((await rows(`SELECT count(*) FROM ${q(name)}`))[0]?.[0] ?? 0) })));
    },
  };
}

export async function createScratch(target: DrillTarget, job: string): Promise<Scratch> {
  if (target.type === 'postgres') {
    const tools: PgTools = target.binDir === undefined ? {} : { binDir: target.binDir };
    if (target.connection) return postgresDb(target.connection, job, tools);
    const cluster = await startEphemeralPostgres(target.binDir);
    try {
      return await postgresDb(cluster.connection, job, { binDir: cluster.binDir }, cluster.stop);
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }
  if (target.type === 'mysql') return mysqlDb(target.connection, job);
  const dir = await scratchDir();
  const remove = (): Promise<void> => rm(dir, { recursive: true, force: true });
  if (target.type === 'sqlite') {
    const file = join(dir, 'restored.sqlite');
    return { kind: 'sqlite file', description: 'a temporary SQLite file', target: file, options: {}, env: { LIFEBOAT_DRILL_TARGET: file }, db: sqliteDb(file), remove };
  }
  const restored = join(dir, 'restored');
  return {
    kind: target.type === 'directory' ? 'directory' : 'command',
    description: target.type === 'directory' ? 'a temporary folder' : 'a temporary folder for the restore command',
    target: restored,
    options: {},
    env: { LIFEBOAT_DRILL_TARGET: restored },
    ...(target.type === 'directory' ? { dir: restored } : {}),
    remove,
  };
}
