/**
 * Leftovers of drills that were interrupted (Lifeboat killed, the host rebooted): scratch databases
 * named `lifeboat_drill_<job>_…` on the jobs' drill servers, and temporary folders named
 * `lifeboat-drill-…` whose owning process is gone — with the ephemeral PostgreSQL server that may
 * still run in one. The daemon removes them at start, before any drill of its own runs; a scratch
 * database that another process's drill is using holds a lock there and is left (guard.ts).
 */
import { readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobConfig } from '../config/model.ts';
import { findTools, ident, literal, query } from '../sources/mysql/mysql-tools.ts';
import { psql } from '../sources/postgres/pg-tools.ts';
import { mysqlFree, postgresFree } from './guard.ts';
import { DIR_PREFIX, scratchDbPrefix } from './scratch.ts';
import { processAlive } from '../pid.ts';

async function pidIn(file: string): Promise<number | undefined> {
  const n = Number((await readFile(file, 'utf8').catch(() => '')).split('\n')[0]);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** Temporary folders of drills whose process is gone; stops a PostgreSQL server still running there. */
async function removeFolders(): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(tmpdir())) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    const owner = await pidIn(join(dir, 'owner.pid'));
    if (owner === undefined || owner === process.pid || processAlive(owner)) continue;
    const postmaster = await pidIn(join(dir, 'data', 'postmaster.pid'));
    if (postmaster !== undefined && processAlive(postmaster)) {
      process.kill(postmaster, 'SIGQUIT'); // PostgreSQL's immediate shutdown
      for (let i = 0; i < 50 && processAlive(postmaster); i++) await new Promise((r) => setTimeout(r, 100));
    }
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

/**
 * Drops `names` whose lock is free (guard.ts): a database whose drill still runs, in another
 * Lifeboat process here or on another host, keeps its lock and is left alone. One that cannot be
 * dropped does not stop the others; the first such failure is thrown when nothing was dropped.
 */
async function dropFree(names: string[], free: (db: string) => Promise<boolean>, drop: (db: string) => Promise<unknown>, engine: string): Promise<string[]> {
  const removed: string[] = [];
  let failure: unknown;
  for (const db of names) {
    try {
      if (!(await free(db))) continue;
      await drop(db);
      removed.push(`${engine} database ${db}`);
    } catch (err) {
      failure ??= err;
    }
  }
  if (failure !== undefined && removed.length === 0) throw failure;
  return removed;
}

async function removeDatabases(job: JobConfig): Promise<string[]> {
  const target = job.drill?.target;
  const prefix = scratchDbPrefix(job.name);
  if (target?.type === 'postgres' && target.connection) {
    const tools = target.binDir === undefined ? {} : { binDir: target.binDir };
    const server = target.connection;
    const names = (await psql(tools, server, "SELECT datname FROM pg_database WHERE left(datname, length(:'p')) = :'p';\n", { p: prefix }, 'postgres')).split('\n').filter(Boolean);
    return dropFree(names, (db) => postgresFree(tools, server, db), (db) => psql(tools, server, 'DROP DATABASE IF EXISTS :"db";\n', { db }, 'postgres'), 'postgres');
  }
  if (target?.type === 'mysql') {
    const tools = await findTools();
    const server = target.connection;
    const names = (await query(tools, server, `SELECT schema_name FROM information_schema.schemata WHERE LEFT(schema_name, ${prefix.length}) = ${literal(prefix)}`)).split('\n').filter(Boolean);
    return dropFree(names, (db) => mysqlFree(tools, server, db), (db) => query(tools, server, `DROP DATABASE IF EXISTS ${ident(db)}`), 'mysql');
  }
  return [];
}

export async function removeLeftovers(jobs: readonly JobConfig[]): Promise<string[]> {
  const results = await Promise.allSettled([removeFolders(), ...jobs.filter((j) => j.drill).map((j) => removeDatabases(j))]);
  const failures = results.filter((r) => r.status === 'rejected');
  const removed = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
  if (failures.length > 0 && removed.length === 0) throw (failures[0] as PromiseRejectedResult).reason;
  return removed;
}
