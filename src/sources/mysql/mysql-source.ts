/**
 * The MySQL/MariaDB source: `mariadb-dump` (or `mysqldump`) with --single-transaction, routines,
 * triggers, events and hex-encoded blobs, streamed; restored with the `mariadb`/`mysql` client.
 *
 * A job dumping one database dumps it without CREATE DATABASE/USE statements, so it restores into
 * a database of any name. The restore target is a database URL; the database is created when it
 * does not exist, and a non-empty one is refused unless --clean. A restore that fails drops the
 * database it created.
 */
import { tmpdir } from 'node:os';
import type { Readable } from 'node:stream';
import type { MysqlSourceConfig } from '../../config/model.ts';
import { LifeboatError, describeError } from '../../errors.ts';
import { withBufferedStdout } from '../buffered-stdout.ts';
import { deferredDump, runConsumer, spawnProducer } from '../child.ts';
import { describeDb, isDbUrl, parseDbUrl, sameDatabase, type DbConnection } from '../db-url.ts';
import { writeFailure } from '../partial.ts';
import { describeTarget } from '../url-target.ts';
import type { Dump, Facts, PreparedTarget, RestoreOptions, Source, TableStat, TargetOptions } from '../source.ts';
import { findTools, ident, literal, optionFile, query } from './mysql-tools.ts';

/**
 * A server as it knows itself, whatever address reaches it: its host name, port and data folder.
 * MariaDB has no server UUID (MySQL's @@server_uuid), and @@server_id is often left at 1.
 */
const SERVER_IDENTITY = "CONCAT(@@hostname, ':', @@port, ':', @@datadir)";

export class MysqlSource implements Source {
  readonly kind = 'mysql';
  readonly ext = 'sql' as const;
  readonly targetKind = 'a database URL such as mysql://user@host:3306/db';
  private readonly cfg: MysqlSourceConfig;

  constructor(cfg: MysqlSourceConfig) {
    this.cfg = cfg;
  }

  dump(o: { signal: AbortSignal }): Dump {
    const c = this.cfg.connection;
    const where = describeDb(c);
    return deferredDump(async (out, started): Promise<Facts> => {
      const tools = await findTools();
      const [version = '', serverIdentity = ''] = (await query(tools, c, `SELECT VERSION(), ${SERVER_IDENTITY}`).catch((err: unknown) => {
        throw new LifeboatError('DUMP_FAILED', `cannot dump ${where}: ${describeError(err)}`);
      }))
        .trim()
        .split('\t');
      const opts = await optionFile(c);
      try {
        const args = [
          `--defaults-extra-file=${opts.path}`,
          '--single-transaction',
          '--routines',
          '--triggers',
          '--events',
          '--hex-blob',
          '--default-character-set=utf8mb4',
        ];
        if (this.cfg.databases.length === 1) args.push('--', this.cfg.databases[0]!);
        else args.push('--databases', '--', ...this.cfg.databases);
        const child = spawnProducer(withBufferedStdout({ cmd: tools.dump, args, what: `${tools.dump} of ${where}` }), o.signal, undefined, out);
        await child.spawned;
        started();
        await child.done;
      } finally {
        await opts.remove();
      }
      return { databases: [...this.cfg.databases], server: where, serverVersion: version, ...(serverIdentity ? { serverIdentity } : {}), client: tools.dump };
    });
  }

  async inventory(): Promise<TableStat[]> {
    const tools = await findTools();
    const out = await query(
      tools,
      this.cfg.connection,
      `SELECT table_name, table_rows FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema IN (${this.cfg.databases.map(literal).join(', ')}) ORDER BY 1`,
    );
    return out
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [name = '', rows = 'NULL'] = line.split('\t');
        return { name, rows: rows === 'NULL' ? null : Number(rows) };
      });
  }

  private target(target: string, o: TargetOptions = {}): DbConnection & { database: string } {
    if (!isDbUrl(target)) throw new LifeboatError('USAGE', `a mysql snapshot restores into ${this.targetKind}, not ${describeTarget(target)}`);
    const t = { ...parseDbUrl(target, 'the restore target'), ...(o.password === undefined ? {} : { password: o.password }) };
    if (t.scheme !== 'mysql') throw new LifeboatError('USAGE', `a mysql snapshot restores into ${this.targetKind}, not a ${t.scheme} URL`);
    if (this.cfg.databases.length > 1) throw new LifeboatError('USAGE', 'this job dumps several databases; restoring it into one target database is not supported yet');
    if (!t.database) throw new LifeboatError('USAGE', 'the restore target URL must name a database (mysql://user@host:3306/dbname)');
    // A target's password comes from the client's usual places (~/.my.cnf, MYSQL_PWD).
    return { ...t, database: t.database };
  }

  async overlapsSource(target: string): Promise<string | undefined> {
    if (!isDbUrl(target)) return undefined;
    const t = parseDbUrl(target, 'the restore target');
    return this.cfg.databases.some((db) => sameDatabase(t, { ...this.cfg.connection, database: db })) ? 'is the source database' : undefined;
  }

  private async tables(t: DbConnection & { database: string }): Promise<{ tables: number; serverIdentity: string } | undefined> {
    const tools = await findTools();
    const exists = (await query(tools, t, `SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ${literal(t.database)}`)).trim();
    if (exists === '0') return undefined;
    const [tables = '', serverIdentity = ''] = (await query(tools, t, `SELECT COUNT(*), ${SERVER_IDENTITY} FROM information_schema.tables WHERE table_schema = ${literal(t.database)}`)).trim().split('\t');
    return { tables: Number(tables), serverIdentity };
  }

  /**
   * Whether an existing target database is one a snapshot was taken of, reached under another
   * address (a DNS alias, a proxy, another port): the same server by SERVER_IDENTITY, and a database
   * the snapshot holds. The URL comparison (overlapsSource) cannot see that.
   */
  private sameAsSnapshotSource(t: DbConnection & { database: string }, serverIdentity: string, facts: Facts): string | undefined {
    const databases = Array.isArray(facts.databases) ? facts.databases : [];
    if (!serverIdentity || facts.serverIdentity !== serverIdentity || !databases.includes(t.database)) return undefined;
    return `is a source database (the same server, by its host name, port and data folder, under another address)`;
  }

  async targetSnapshotSource(target: string, o: TargetOptions, facts: Facts): Promise<string | undefined> {
    const t = this.target(target, o);
    const state = await this.tables(t);
    return state === undefined ? undefined : this.sameAsSnapshotSource(t, state.serverIdentity, facts);
  }

  async checkTarget(target: string, o: TargetOptions): Promise<string[]> {
    const t = this.target(target, o);
    const where = describeDb(t);
    const state = await this.tables(t).catch((err: unknown) => {
      throw new LifeboatError('USAGE', `cannot reach the restore target ${where}: ${describeError(err)}`);
    });
    if (state === undefined) return [`database ${t.database} on ${where} does not exist and will be created`];
    const { tables } = state;
    this.refuseNonEmpty(t, tables, o);
    return [tables > 0 ? `database ${t.database} has ${tables} tables; --clean replaces those in the snapshot` : `database ${t.database} exists and is empty`];
  }

  /**
   * Creates the target database unless it exists, and counts its tables, in one client run: the
   * CREATE is a prepared statement chosen by the existence check, so that a user without the
   * CREATE privilege can still restore into an existing database.
   */
  private async createUnlessExists(t: DbConnection & { database: string }): Promise<{ created: boolean; tables: number; serverIdentity: string }> {
    const tools = await findTools();
    const db = literal(t.database);
    const create = literal(`CREATE DATABASE ${ident(t.database)} CHARACTER SET utf8mb4`);
    const out = await query(
      tools,
      t,
      `SELECT COUNT(*) INTO @lifeboat_existed FROM information_schema.schemata WHERE schema_name = ${db};
SET @lifeboat_sql = IF(@lifeboat_existed = 0, ${create}, 'DO 0');
PREPARE lifeboat_create FROM @lifeboat_sql; EXECUTE lifeboat_create; DEALLOCATE PREPARE lifeboat_create;
SELECT @lifeboat_existed, COUNT(*), ${SERVER_IDENTITY} FROM information_schema.tables WHERE table_schema = ${db};`,
    );
    const [existed, tables, serverIdentity = ''] = out.trim().split('\t');
    return { created: existed === '0', tables: Number(tables), serverIdentity };
  }

  private refuseNonEmpty(t: DbConnection & { database: string }, tables: number, o: TargetOptions): void {
    if (tables > 0 && !o.clean) {
      throw new LifeboatError('USAGE', `the restore target ${describeDb(t)} is not empty (${tables} tables): choose an empty or new database, or add --clean to replace the tables the snapshot holds`);
    }
  }

  async prepareTarget(target: string, o: TargetOptions): Promise<PreparedTarget> {
    const t = this.target(target, o);
    const { created, tables, serverIdentity } = await this.createUnlessExists(t).catch((err: unknown) => {
      throw new LifeboatError('USAGE', `cannot reach the restore target ${describeDb(t)}: ${describeError(err)}`);
    });
    this.refuseNonEmpty(t, tables, o);
    return {
      created,
      undo: () => (created ? this.drop(t) : Promise.resolve()),
      snapshotSource: (facts) => this.sameAsSnapshotSource(t, serverIdentity, facts),
    };
  }

  private async drop(t: DbConnection & { database: string }): Promise<void> {
    await query(await findTools(), t, `DROP DATABASE IF EXISTS ${ident(t.database)}`).catch(() => {});
  }

  async restore(input: Readable, target: string, o: RestoreOptions): Promise<Facts> {
    const t = this.target(target, o);
    const tools = await findTools();
    // Prepared by the operation (which also drops a database it created when the restore fails
    // later), or here.
    const { created, tables } = o.prepared ? { created: o.prepared.created, tables: 0 } : await this.createUnlessExists(t);
    this.refuseNonEmpty(t, tables, o);
    // This host's temporary folder, not the site: its failure is no reason to try another site.
    const opts = await optionFile(t).catch((err: unknown) => {
      throw writeFailure(`the client's option file in ${tmpdir()}`, err);
    });
    try {
      await runConsumer(
        { cmd: tools.client, args: [`--defaults-extra-file=${opts.path}`, '--default-character-set=utf8mb4', `--database=${t.database}`], what: `${tools.client} into ${describeDb(t)}` },
        input,
        o.signal,
      );
      return { database: t.database, target: describeDb(t), created, client: tools.client };
    } catch (err) {
      if (created && !o.prepared) await this.drop(t);
      throw err;
    } finally {
      await opts.remove();
    }
  }
}
