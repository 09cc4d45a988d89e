/**
 * The MySQL/MariaDB client tools as child processes. Whichever family is installed is used
 * (`mariadb-dump`/`mariadb`, else `mysqldump`/`mysql`). Connection settings and the password
 * reach them through a private option file (mode 0600 in a 0700 folder, removed afterwards) — never
 * through argv, where any user of the host could read them.
 */
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DbConnection } from '../../config/model.ts';
import { LifeboatError } from '../../errors.ts';
import { describeDb } from '../db-url.ts';
import { tempDir } from '../../temp-dir.ts';

export interface MysqlTools {
  readonly dump: string;
  readonly client: string;
}

function which(cmd: string): Promise<boolean> {
  return new Promise((resolve) => execFile('sh', ['-c', `command -v ${cmd}`], (err) => resolve(!err)));
}

export async function findTools(): Promise<MysqlTools> {
  if ((await which('mariadb-dump')) && (await which('mariadb'))) return { dump: 'mariadb-dump', client: 'mariadb' };
  if ((await which('mysqldump')) && (await which('mysql'))) return { dump: 'mysqldump', client: 'mysql' };
  throw new LifeboatError('USAGE', 'neither mariadb-dump/mariadb nor mysqldump/mysql is installed (Debian: mariadb-client)');
}

function quoteOption(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** An option file for one connection; call `remove` when the child has exited. */
export async function optionFile(c: DbConnection): Promise<{ path: string; remove: () => Promise<void> }> {
  const dir = await tempDir('my');
  const path = join(dir, 'client.cnf');
  const lines = ['[client]', `host=${quoteOption(c.host)}`, `port=${c.port}`, 'protocol=TCP'];
  if (c.user) lines.push(`user=${quoteOption(c.user)}`);
  if (c.password !== undefined) lines.push(`password=${quoteOption(c.password)}`);
  await writeFile(path, `${lines.join('\n')}\n`, { mode: 0o600 });
  return { path, remove: () => rm(dir, { recursive: true, force: true }) };
}

export function ident(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

export function literal(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Runs SQL with the client and returns its tab-separated output. */
export async function query(tools: MysqlTools, c: DbConnection, sql: string): Promise<string> {
  const opts = await optionFile(c);
  try {
    return await new Promise((resolve, reject) => {
      execFile(tools.client, [`--defaults-extra-file=${opts.path}`, '-N', '-B', '-e', sql], { timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        reject(new LifeboatError('RESTORE_FAILED', `${tools.client} on ${describeDb(c)}: ${String(stderr).trim().split('\n').slice(-2).join(' ') || err.message}`));
      });
    });
  } finally {
    await opts.remove();
  }
}
