/**
 * Where a PostgreSQL client tool is run from. With `binDir` set, from there. Otherwise from PATH,
 * except for one case: Debian and Ubuntu install `pg_dump`, `pg_restore`, `psql`, … as links to
 * `pg_wrapper`, a Perl script that picks a version and then runs /usr/lib/postgresql/N/bin/TOOL.
 * Lifeboat runs the newest installed TOOL itself, for two reasons:
 * - the wrapper picks the version of a *local* cluster when the command line names no host (the
 *   host reaches our tools through PGHOST, which it does not look at), so a host with a local
 *   PostgreSQL 13 and the 16 client tools would dump a remote 16 server with pg_dump 13 and fail;
 *   the newest client dumps and restores every older server and archive;
 * - it costs ~20-50 ms of Perl start-up per tool, and a backup runs four of them (pg_dump, its
 *   version, the server's version, the table inventory): CPU taken from pg_dump and the server.
 * The lookup happens once per tool and process (a few stat calls).
 */
import { readdirSync, realpathSync } from 'node:fs';
import { basename, join } from 'node:path';
import { executable, findExecutable } from '../executable.ts';

export type PgToolName = 'pg_dump' | 'pg_restore' | 'psql' | 'pg_dumpall';

export interface PgTools {
  /** A folder with the client tools (e.g. /usr/lib/postgresql/17/bin), or undefined for PATH. */
  readonly binDir?: string;
}

const DEBIAN_ROOT = '/usr/lib/postgresql';
const found = new Map<PgToolName, string>();

export function pgBin(tools: PgTools, name: PgToolName): string {
  if (tools.binDir) return join(tools.binDir, name);
  let bin = found.get(name);
  if (bin === undefined) {
    bin = unwrap(name, process.env.PATH ?? '', DEBIAN_ROOT);
    found.set(name, bin);
  }
  return bin;
}

/**
 * `name` as PATH finds it; when that is Debian's pg_wrapper, the newest `ROOT/N/bin/name` instead.
 * Anything else (no such tool, another layout, an unreadable folder) leaves `name` to PATH, so a
 * missing tool still fails where it is spawned, with the usual message.
 */
export function unwrap(name: string, path: string, root: string): string {
  const onPath = findExecutable(name, path);
  if (!onPath) return name;
  let target: string;
  try {
    target = realpathSync(onPath);
  } catch {
    return name;
  }
  if (basename(target) !== 'pg_wrapper') return name;
  let versions: string[];
  try {
    versions = readdirSync(root).filter((v) => /^\d+(\.\d+)?$/.test(v));
  } catch {
    return name;
  }
  versions.sort((a, b) => Number(b) - Number(a));
  return versions.map((v) => join(root, v, 'bin', name)).find(executable) ?? name;
}

/**
 * Whether `name` can be run (from binDir, the Debian folder chosen above, or PATH): a few stat
 * calls instead of starting the tool, for a check that must not delay what runs beside it.
 */
export function pgToolInstalled(tools: PgTools, name: PgToolName): boolean {
  return findExecutable(pgBin(tools, name), process.env.PATH ?? '') !== undefined;
}
