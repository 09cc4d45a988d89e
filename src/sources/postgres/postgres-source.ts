/**
 * The PostgreSQL source: `pg_dump --format=custom` streamed (no temporary file), restored with
 * `pg_restore` into any database on any server.
 *
 * - Before dumping, pg_dump's major version is compared with the server's: an older client cannot
 *   dump a newer server, and fails at once naming both versions.
 * - A restore goes into an existing empty database, or creates it. A non-empty database is refused
 *   unless --clean. Without --jobs the restore is one transaction (all or nothing; and since the
 *   pipeline releases the end of the stream only after it verified, a damaged snapshot is rolled
 *   back). With --jobs N the dump is spooled to a temporary file first, because pg_restore needs a
 *   seekable file for a parallel restore; the file is removed afterwards.
 */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LifeboatError, describeError } from '../../errors.ts';
import type { PostgresSourceConfig } from '../../config/model.ts';
import { withBufferedStdout } from '../buffered-stdout.ts';
import { deferredDump, runConsumer, spawnProducer } from '../child.ts';
import { describeDb, isDbUrl, parseDbUrl, sameDatabase, type DbConnection } from '../db-url.ts';
import { describeTarget } from '../url-target.ts';
import type { Dump, ExtraPart, Facts, PreparedTarget, RestoreOptions, Source, TableStat, TargetOptions } from '../source.ts';
import { pgBin, pgToolInstalled, type PgTools } from './pg-bin.ts';
import { ARCHIVE_HEADER_BYTES, parseArchiveHeader } from './archive-header.ts';
import { clientVersion, conninfo, libpqEnv, parseVersion, psql, type Version } from './pg-tools.ts';
import { tempDir } from '../../temp-dir.ts';
import { writeFailure } from '../partial.ts';

const USER_OBJECTS = `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%';`;

/**
 * The server's system identifier, which pg_control_system() gives every role: chosen at initdb and
 * kept by every physical replica, it names one cluster whatever address reaches it. A server
 * that refuses the query (an older version, a pooler) prints nothing, and the runs go on.
 */
const SYSTEM_IDENTIFIER = `\\set ON_ERROR_STOP 0
SELECT 'sysid:' || system_identifier FROM pg_control_system();
`;

/** Reads SYSTEM_IDENTIFIER's line out of a run's output lines; returns it and the other lines. */
function takeSystemIdentifier(lines: string[]): { systemIdentifier?: string; rest: string[] } {
  const at = lines.findIndex((l) => /^sysid:\d+$/.test(l));
  if (at < 0) return { rest: lines };
  return { systemIdentifier: lines[at]!.slice('sysid:'.length), rest: lines.filter((_, i) => i !== at) };
}

/** psql script: creates database :db unless it exists; prints which it did, and for one that existed the server's identifier. */
const CREATE_UNLESS_EXISTS = `SELECT count(*) = 0 AS lifeboat_missing FROM pg_database WHERE datname = :'db' \\gset
\\if :lifeboat_missing
CREATE DATABASE :"db";
\\echo created
\\else
\\echo exists
${SYSTEM_IDENTIFIER}\\endif
`;

/** User tables with the planner's row estimate (-1 or 0 before the first ANALYZE). */
export const TABLE_STATS = `SELECT n.nspname || '.' || c.relname, c.reltuples::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'`;

/** psql -A -t output of (name, estimate) rows. */
export function parseStats(out: string): TableStat[] {
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const bar = line.lastIndexOf('|');
      const rows = Number(line.slice(bar + 1));
      return { name: line.slice(0, bar), rows: rows < 0 ? null : rows };
    });
}

export class PostgresSource implements Source {
  readonly kind = 'postgres';
  readonly ext = 'pgdump' as const;
  readonly targetKind = 'a database URL such as postgres://user@host:5432/db';
  private readonly cfg: PostgresSourceConfig;
  private readonly tools: PgTools;
  /** The probe of the newest dump (server version and tables), which inventory() reuses. */
  private probed?: ReturnType<PostgresSource['probe']>;

  constructor(cfg: PostgresSourceConfig) {
    this.cfg = cfg;
    this.tools = cfg.binDir === undefined ? {} : { binDir: cfg.binDir };
  }

  private dumpArgs(): string[] {
    const args = ['--format=custom', '--compress=0', '--no-password'];
    for (const s of this.cfg.schemas) args.push(`--schema=${s}`);
    for (const s of this.cfg.excludeSchemas) args.push(`--exclude-schema=${s}`);
    for (const t of this.cfg.tables) args.push(`--table=${t}`);
    for (const t of this.cfg.excludeTables) args.push(`--exclude-table=${t}`);
    return args;
  }

  dump(o: { signal: AbortSignal }): Dump {
    const c = this.cfg.connection;
    const where = describeDb(c);
    return deferredDump(async (out, started): Promise<Facts> => {
      // pg_dump starts first and the version check beside it instead of before it: the server's
      // version comes from a psql run (which also lists the tables for the manifest), pg_dump's
      // from the header of the archive it writes, or from `pg_dump --version` when the header
      // cannot be read (a pg_dump that fails before writing one). If the check then refuses the
      // client, pg_dump is killed and the check's message is the dump's error: the backup fails
      // and nothing it streamed is committed.
      const header = out.head(ARCHIVE_HEADER_BYTES);
      const ac = new AbortController();
      const stop = (): void => ac.abort();
      o.signal.addEventListener('abort', stop, { once: true });
      const spec = withBufferedStdout({ cmd: pgBin(this.tools, 'pg_dump'), args: this.dumpArgs(), env: libpqEnv(c), what: `pg_dump of ${where}` });
      const child = spawnProducer(spec, ac.signal, undefined, out);
      child.done.catch(() => {});
      await child.spawned;
      started();
      try {
        this.probed = this.probe();
        const dumpVersion = header.then((h) => {
          const version = parseArchiveHeader(h)?.dumpVersion;
          return version === undefined ? clientVersion(this.tools, 'pg_dump') : parseVersion(version, 'pg_dump');
        });
        const [client, { server, systemIdentifier }] = await Promise.all([dumpVersion, this.probed]).catch((err: unknown) => {
          throw new LifeboatError('DUMP_FAILED', `cannot dump ${where}: ${describeError(err)}`);
        });
        if (client.major < server.major) {
          throw new LifeboatError(
            'DUMP_FAILED',
            `pg_dump ${client.text} is older than the server ${where} (PostgreSQL ${server.text}) and cannot dump it: install the PostgreSQL ${server.major} client tools or newer, or point source.binDir at them`,
          );
        }
        await child.done;
        return {
          database: c.database ?? null,
          server: where,
          serverVersion: server.text,
          ...(systemIdentifier ? { systemIdentifier } : {}),
          clientVersion: `pg_dump ${client.text}`,
          format: 'pg_dump custom',
        };
      } catch (err) {
        ac.abort();
        await child.done.catch(() => {});
        throw err;
      } finally {
        o.signal.removeEventListener('abort', stop);
      }
    });
  }

  async inventory(): Promise<TableStat[]> {
    return (await (this.probed ?? this.probe())).tables;
  }

  /**
   * The server's version and system identifier (for the manifest) and the user tables with their
   * row estimates, in one psql run (each run is a client start, a fork of this process and a server
   * connection, while pg_dump needs the CPU). The identifier and the table list are best effort: a
   * failing query leaves them out, and with pg_dump's own table patterns (a syntax of their own) the
   * list is not read, since it would not match the dump.
   */
  private async probe(): Promise<{ server: Version; systemIdentifier?: string; tables: TableStat[] }> {
    let sql = `SHOW server_version_num;\nSHOW server_version;\n${SYSTEM_IDENTIFIER}`;
    const vars: Record<string, string> = {};
    if (this.cfg.tables.length === 0 && this.cfg.excludeTables.length === 0) {
      let filter = '';
      if (this.cfg.schemas.length > 0) {
        vars.only = `{${this.cfg.schemas.map((x) => `"${x.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;
        filter += " AND n.nspname = ANY (:'only'::text[])";
      }
      if (this.cfg.excludeSchemas.length > 0) {
        vars.skip = `{${this.cfg.excludeSchemas.map((x) => `"${x.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;
        filter += " AND NOT n.nspname = ANY (:'skip'::text[])";
      }
      sql += `${TABLE_STATS}${filter} ORDER BY 1;\n`;
    }
    const [num = '', text = '', ...more] = (await psql(this.tools, this.cfg.connection, sql, vars)).split('\n');
    const version = Number(num);
    if (!Number.isInteger(version) || version <= 0) throw new LifeboatError('DUMP_FAILED', `cannot read the server's version from "${num}"`);
    const { systemIdentifier, rest } = takeSystemIdentifier(more);
    return { server: { major: Math.floor(version / 10000), text: text.split(' ')[0] || num }, ...(systemIdentifier ? { systemIdentifier } : {}), tables: parseStats(rest.join('\n')) };
  }

  /** Roles and tablespaces, when the job asks for them: `pg_dumpall --globals-only`, plain SQL. */
  extraParts(): ExtraPart[] {
    if (!this.cfg.globals) return [];
    const c = this.cfg.connection;
    return [
      {
        name: 'globals',
        ext: 'sql',
        dump: (o) => {
          const child = spawnProducer(
            { cmd: pgBin(this.tools, 'pg_dumpall'), args: ['--globals-only', '--no-password'], env: libpqEnv(c), what: `pg_dumpall --globals-only of ${describeDb(c)}` },
            o.signal,
          );
          return { stream: child.stream, done: child.done.then(() => ({ server: describeDb(c) })) };
        },
      },
    ];
  }

  /**
   * Restores roles and tablespaces with psql on the target server. Roles that exist already make
   * their CREATE fail; those errors are counted and reported, not fatal, as with pg_dumpall itself.
   */
  async restorePart(name: string, input: Readable, target: string, o: RestoreOptions): Promise<Facts> {
    if (name !== 'globals') throw new LifeboatError('USAGE', `a postgres snapshot has no part ${name}`);
    const t = this.target(target, o);
    const r = await runConsumer(
      { cmd: pgBin(this.tools, 'psql'), args: ['-X', '-q', '-d', 'postgres', '-f', '-'], env: libpqEnv(t, 'postgres'), what: `psql (roles and tablespaces) on ${describeDb(t)}` },
      input,
      o.signal,
    );
    const errors = r.stderr.split('\n').filter((l) => l.includes('ERROR:'));
    return { errors: errors.length, ...(errors.length ? { firstErrors: errors.slice(0, 5) } : {}) };
  }

  private target(target: string, o: TargetOptions = {}): DbConnection & { database: string } {
    if (!isDbUrl(target)) throw new LifeboatError('USAGE', `a postgres snapshot restores into ${this.targetKind}, not ${describeTarget(target)}`);
    const t = { ...parseDbUrl(target, 'the restore target'), ...(o.password === undefined ? {} : { password: o.password }) };
    if (t.scheme !== 'postgres') throw new LifeboatError('USAGE', `a postgres snapshot restores into ${this.targetKind}, not a ${t.scheme} URL`);
    if (!t.database) throw new LifeboatError('USAGE', 'the restore target URL must name a database (postgres://user@host:5432/dbname)');
    return { ...t, database: t.database };
  }

  async overlapsSource(target: string): Promise<string | undefined> {
    return isDbUrl(target) && sameDatabase(parseDbUrl(target, 'the restore target'), this.cfg.connection) ? 'is the source database' : undefined;
  }

  /** Whether the target database exists and, if so, how many relations it holds (≤ 2 psql runs). */
  private async inspect(t: DbConnection & { database: string }): Promise<{ server: string; systemIdentifier?: string; objects?: number }> {
    const out = (await psql(this.tools, t, `SHOW server_version;\nSELECT count(*) FROM pg_database WHERE datname = :'db';\n${SYSTEM_IDENTIFIER}`, { db: t.database }, 'postgres')).trim().split('\n');
    const server = (out[0] ?? '').split(' ')[0] ?? '';
    const { systemIdentifier } = takeSystemIdentifier(out.slice(2));
    if (out[1] !== '1') return { server };
    return { server, ...(systemIdentifier ? { systemIdentifier } : {}), objects: Number((await psql(this.tools, t, USER_OBJECTS, {}, t.database)).trim()) };
  }

  async targetSnapshotSource(target: string, o: TargetOptions, facts: Facts): Promise<string | undefined> {
    const t = this.target(target, o);
    const state = await this.inspect(t);
    return state.objects === undefined ? undefined : this.sameAsSnapshotSource(t, state.systemIdentifier, facts);
  }

  /**
   * Creates the target database unless it exists, checked and created in one psql run (each run
   * is a client start and a connection); when it existed, counts its relations (a second run,
   * inside it).
   */
  private async createUnlessExists(t: DbConnection & { database: string }): Promise<{ created: boolean; objects?: number; systemIdentifier?: string }> {
    const [first, ...more] = (await psql(this.tools, t, CREATE_UNLESS_EXISTS, { db: t.database }, 'postgres')).trim().split('\n');
    if (first === 'created') return { created: true };
    const { systemIdentifier } = takeSystemIdentifier(more);
    return { created: false, objects: Number((await psql(this.tools, t, USER_OBJECTS, {}, t.database)).trim()), ...(systemIdentifier ? { systemIdentifier } : {}) };
  }

  /**
   * Whether an existing target database is the one a snapshot was taken of, reached under another
   * address (a DNS alias, a pooler, another port): the same server by its system identifier, and a
   * database of the same name. The URL comparison (overlapsSource) cannot see that.
   */
  private sameAsSnapshotSource(t: DbConnection & { database: string }, systemIdentifier: string | undefined, facts: Facts): string | undefined {
    if (systemIdentifier === undefined || facts.systemIdentifier !== systemIdentifier || facts.database !== t.database) return undefined;
    return `is the source database (the same server, by its system identifier ${systemIdentifier}, under another address)`;
  }

  private refuseNonEmpty(t: DbConnection & { database: string }, objects: number | undefined, o: TargetOptions): void {
    if (objects !== undefined && objects > 0 && !o.clean) {
      throw new LifeboatError('USAGE', `the restore target ${describeDb(t)} is not empty (${objects} relations): choose an empty or new database, or add --clean to replace the objects the snapshot holds`);
    }
  }

  async checkTarget(target: string, o: TargetOptions): Promise<string[]> {
    const t = this.target(target, o);
    const where = describeDb(t);
    const [state, client] = await Promise.all([
      this.inspect(t).catch((err: unknown) => {
        throw new LifeboatError('USAGE', `cannot reach the restore target ${where}: ${describeError(err)}`);
      }),
      clientVersion(this.tools, 'pg_restore'),
    ]);
    this.refuseNonEmpty(t, state.objects, o);
    const notes = [`server ${where} runs PostgreSQL ${state.server}; pg_restore ${client.text}`];
    if (state.objects === undefined) return [...notes, `database ${t.database} does not exist and will be created`];
    return [...notes, state.objects > 0 ? `database ${t.database} has ${state.objects} relations; --clean replaces those in the snapshot` : `database ${t.database} exists and is empty`];
  }

  async prepareTarget(target: string, o: TargetOptions): Promise<PreparedTarget> {
    const t = this.target(target, o);
    // Fails at once, before a database is created or anything downloaded, when pg_restore is not
    // installed (looked up, not started: starting it cost a fork beside the psql run).
    if (!pgToolInstalled(this.tools, 'pg_restore')) {
      throw new LifeboatError('USAGE', `pg_restore: ${pgBin(this.tools, 'pg_restore')} is not installed (install the PostgreSQL client tools, or set binDir)`);
    }
    const { created, objects, systemIdentifier } = await this.createUnlessExists(t).catch((err: unknown) => {
      throw new LifeboatError('USAGE', `cannot reach the restore target ${describeDb(t)}: ${describeError(err)}`);
    });
    const prepared: PreparedTarget = {
      created,
      undo: () => (created ? this.drop(t) : Promise.resolve()),
      snapshotSource: (facts) => this.sameAsSnapshotSource(t, systemIdentifier, facts),
    };
    this.refuseNonEmpty(t, objects, o);
    return prepared;
  }

  private async drop(t: DbConnection & { database: string }): Promise<void> {
    await psql(this.tools, t, 'DROP DATABASE IF EXISTS :"db";\n', { db: t.database }, 'postgres').catch(() => {});
  }

  async restore(input: Readable, target: string, o: RestoreOptions): Promise<Facts> {
    const t = this.target(target, o);
    // Prepared by the operation (which also removes a database it created when the restore
    // fails), or here.
    const { created, objects } = o.prepared ? { created: o.prepared.created, objects: undefined } : await this.createUnlessExists(t);
    this.refuseNonEmpty(t, objects, o);
    const args = [`--dbname=${conninfo(t.database)}`, '--no-password', '--exit-on-error'];
    if (o.clean) args.push('--clean', '--if-exists');
    if (o.noOwner) args.push('--no-owner', '--no-privileges');
    const spec = { cmd: pgBin(this.tools, 'pg_restore'), env: libpqEnv(t, t.database), what: `pg_restore into ${describeDb(t)}` };
    let spool: string | undefined;
    try {
      if (o.jobs !== undefined && o.jobs > 1) {
        // The spool's failures (a full temporary folder) are this host's, not the site's.
        const where = `the spool file for pg_restore --jobs in ${tmpdir()}`;
        spool = await tempDir('pgrestore').catch((err: unknown) => {
          throw writeFailure(where, err);
        });
        const file = join(spool, 'dump.pgdump');
        const out = createWriteStream(file, { mode: 0o600 });
        let writeFailed = false;
        out.once('error', () => (writeFailed = true));
        await pipeline(input, out).catch((err: unknown) => {
          throw writeFailed ? writeFailure(where, err) : err;
        });
        await runConsumer({ ...spec, args: [...args, `--jobs=${o.jobs}`, file] }, emptyInput(), o.signal);
      } else {
        await runConsumer({ ...spec, args: [...args, '--single-transaction'] }, input, o.signal);
      }
      return { database: t.database, target: describeDb(t), created };
    } catch (err) {
      if (created && !o.prepared) await this.drop(t);
      throw err;
    } finally {
      if (spool) await rm(spool, { recursive: true, force: true });
    }
  }
}

function emptyInput(): Readable {
  const p = new PassThrough();
  p.end();
  return p;
}
