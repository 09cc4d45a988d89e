/**
 * Which scratch databases are still in use: a drill holds a lock named for its scratch database,
 * in a session of its own on the drill server, from before the database is created until after it
 * is dropped. The session is a client process (psql, mariadb) that reads its SQL from a pipe of
 * ours and waits there; when this process dies, however it dies, the pipe closes, the client ends
 * and the server releases the lock. So the leftover sweep (leftovers.ts) removes only databases
 * whose lock is free — a drill running in another Lifeboat process, here or on another host,
 * keeps its database — and the server, not a process id or a host name, says who is alive.
 *
 * PostgreSQL: a session-level advisory lock on (LOCK_CLASS, hashtext(name)); MySQL/MariaDB: the
 * named lock `lb:<name>` (GET_LOCK). Scratch names are random, so nobody else asks for them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { DbConnection } from '../config/model.ts';
import { LifeboatError } from '../errors.ts';
import { describeDb } from '../sources/db-url.ts';
import { literal, optionFile, query, type MysqlTools } from '../sources/mysql/mysql-tools.ts';
import { pgBin, type PgTools } from '../sources/postgres/pg-bin.ts';
import { libpqEnv, psql } from '../sources/postgres/pg-tools.ts';

/** The first key of Lifeboat's advisory locks ('LB' as an integer): apart from any application's. */
const LOCK_CLASS = 0x4c42;
const READY = 'lifeboat-guard-held';
const HOLD_TIMEOUT_MS = 30_000;

export interface Guard {
  /** Ends the session, which releases the lock. */
  release(): Promise<void>;
}

/** Starts `child`, writes `sql` and resolves once its output shows READY; the session stays open. */
function hold(child: ChildProcess, sql: string, what: string): Promise<Guard> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    let settled = false;
    const exited = new Promise<void>((r) => child.once('close', () => r()));
    const fail = (reason: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new LifeboatError('RESTORE_FAILED', `${what}: cannot hold the scratch database's lock: ${reason}`));
    };
    const timer = setTimeout(() => fail(`no answer in ${HOLD_TIMEOUT_MS / 1000} s`), HOLD_TIMEOUT_MS);
    child.once('error', (e) => fail(e.message));
    child.stderr!.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-2000)));
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (settled || !out.includes(READY)) return;
      settled = true;
      clearTimeout(timer);
      child.stdout!.removeAllListeners('data');
      child.stdout!.resume();
      resolve({
        async release() {
          child.stdin!.end();
          await exited;
        },
      });
    });
    child.once('close', (code) => fail(err.trim().split('\n').slice(-2).join(' ') || `the client exited with status ${code}`));
    // A client that died early must not fail the write loudly; its exit says why.
    child.stdin!.on('error', () => {});
    child.stdin!.write(sql);
  });
}

export async function holdPostgres(tools: PgTools, server: DbConnection, database: string): Promise<Guard> {
  const child = spawn(pgBin(tools, 'psql'), ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-v', `db=${database}`], { env: libpqEnv(server, 'postgres'), stdio: ['pipe', 'pipe', 'pipe'] });
  return hold(child, `SELECT pg_advisory_lock(${LOCK_CLASS}, hashtext(:'db'));\n\\echo ${READY}\n`, `psql on ${describeDb({ ...server, database: 'postgres' })}`);
}

/** Whether no session holds `database`'s lock (its drill is gone). */
export async function postgresFree(tools: PgTools, server: DbConnection, database: string): Promise<boolean> {
  const out = await psql(tools, server, `SELECT pg_try_advisory_lock(${LOCK_CLASS}, hashtext(:'db'));\n`, { db: database }, 'postgres');
  return out.trim() === 't';
}

export async function holdMysql(tools: MysqlTools, server: DbConnection, database: string): Promise<Guard> {
  const opts = await optionFile(server);
  try {
    // --unbuffered: each answer is written as it comes, not when the client exits.
    const child = spawn(tools.client, [`--defaults-extra-file=${opts.path}`, '-N', '-B', '--unbuffered'], { stdio: ['pipe', 'pipe', 'pipe'] });
    return await hold(child, `SELECT IF(GET_LOCK(${literal(`lb:${database}`)}, 30) = 1, '${READY}', 'busy');\n`, `${tools.client} on ${describeDb(server)}`);
  } finally {
    // The client read its options at start.
    await opts.remove();
  }
}

export async function mysqlFree(tools: MysqlTools, server: DbConnection, database: string): Promise<boolean> {
  return (await query(tools, server, `SELECT IS_FREE_LOCK(${literal(`lb:${database}`)})`)).trim() === '1';
}
