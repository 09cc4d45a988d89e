/**
 * The PostgreSQL client tools (pg_dump, pg_restore, psql) as child processes. Connection settings
 * reach them through libpq's environment (PGHOST, PGPORT, PGUSER, PGPASSWORD, …): the password is
 * never on a command line, where any user of the host could read it. A connection without a
 * configured password (a restore target) uses libpq's usual places: PGPASSWORD, ~/.pgpass.
 */
import { execFile } from 'node:child_process';
import { LifeboatError } from '../../errors.ts';
import { describeDb, type DbConnection } from '../db-url.ts';
import { pgBin, type PgTools } from './pg-bin.ts';

export function libpqEnv(c: DbConnection, database?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PGHOST: c.host, PGPORT: String(c.port), PGCONNECT_TIMEOUT: '15', PGAPPNAME: 'lifeboat' };
  delete env.PGSERVICE;
  if (c.user) env.PGUSER = c.user;
  const db = database ?? c.database;
  if (db) env.PGDATABASE = db;
  if (c.password !== undefined) env.PGPASSWORD = c.password;
  return env;
}

/** A libpq connection string naming only the database (the rest comes from the environment). */
export function conninfo(database: string): string {
  return `dbname='${database.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, what: string, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { env, timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return reject(new LifeboatError('USAGE', `${what}: ${cmd} is not installed (install the PostgreSQL client tools, or set binDir)`));
      reject(new LifeboatError('RESTORE_FAILED', `${what}: ${String(stderr).trim().split('\n').slice(-3).join(' ') || err.message}`));
    });
    // A tool that exits without reading its input (--version) must not fail the write loudly.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input ?? '');
  });
}

/**
 * Runs SQL through psql on stdin, with psql variables for values (`:'name'` quotes a literal,
 * `:"name"` an identifier), so that no value is ever spliced into SQL text.
 */
export function psql(tools: PgTools, c: DbConnection, sql: string, vars: Record<string, string> = {}, database?: string, extra: string[] = []): Promise<string> {
  const args = ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', ...extra, '-f', '-'];
  for (const [k, v] of Object.entries(vars)) args.push('-v', `${k}=${v}`);
  const where = describeDb({ ...c, ...(database ? { database } : {}) });
  return run(pgBin(tools, 'psql'), args, libpqEnv(c, database), `psql on ${where}`, sql);
}

const FIELD = '\x1f';
const RECORD = '\x1e';
const NULL = '\x1d';

/** Runs one query and returns its rows as text cells (NULL as null), separated unambiguously. */
export async function psqlRows(tools: PgTools, c: DbConnection, sql: string, database?: string): Promise<(string | null)[][]> {
  const out = await psql(tools, c, `\\pset null '${NULL}'\n${sql.trim().replace(/;?$/, ';')}\n`, {}, database, ['-F', FIELD, '-R', RECORD]);
  return out
    .replace(/\n$/, '')
    .split(RECORD)
    .filter((r) => r !== '')
    .map((r) => r.split(FIELD).map((cell) => (cell === NULL ? null : cell)));
}

export interface Version {
  readonly major: number;
  readonly text: string;
}

/** The version of a client tool, from `--version` ("pg_dump (PostgreSQL) 15.19 (Debian …)"). */
export async function clientVersion(tools: PgTools, name: 'pg_dump' | 'pg_restore'): Promise<Version> {
  return parseVersion(await run(pgBin(tools, name), ['--version'], process.env, name), name);
}

/** The first "major[.minor]" in a version text: "15.19 (Debian 15.19-0+deb12u1)" → 15.19. */
export function parseVersion(text: string, what: string): Version {
  const m = /(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) throw new LifeboatError('DUMP_FAILED', `${what}: cannot read its version from "${text.trim()}"`);
  return { major: Number(m[1]), text: `${m[1]}${m[2] ? `.${m[2]}` : ''}` };
}
