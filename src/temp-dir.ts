/**
 * Private temporary folders: the Unix sockets of a dump and of a restore, a MySQL option file
 * holding the password, the spool of a decrypted dump for a parallel pg_restore, the copy of a
 * SQLite database. Their users remove them when done; a process that was killed (SIGKILL, the OOM
 * killer, a power cut) cannot, and would leave a password or a whole decrypted database in the
 * system's temporary folder. So each is named `lifeboat-KIND-HOST-PIDNS-PID-XXXXXX` (mkdtemp: mode
 * 0700; PIDNS: the inode of Linux's pid namespace, in which the pid means that process), and every
 * Lifeboat command removes those that this user's dead processes of this host and namespace left.
 * A live process's folder, another host's or namespace's (a shared folder) and another user's are
 * never touched.
 */
import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidNamespace, processAlive } from './pid.ts';

const KINDS = ['out', 'restore', 'my', 'pgrestore', 'sqlite'] as const;
export type TempKind = (typeof KINDS)[number];

/** A new private folder (mode 0700) in the system's temporary folder. */
export function tempDir(kind: TempKind): Promise<string> {
  return mkdtemp(join(tmpdir(), `lifeboat-${kind}-${hostname()}-${pidNamespace() ?? '0'}-${process.pid}-`));
}

/** Removes the folders that dead processes of this user, host and pid namespace left in `dir`; returns their paths. */
export async function sweepTempDirs(dir = tmpdir(), host = hostname()): Promise<string[]> {
  const escaped = host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`^lifeboat-(?:${KINDS.join('|')})-${escaped}-${pidNamespace() ?? '0'}-(\\d+)-[A-Za-z0-9]{6}$`);
  const uid = process.getuid?.();
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = pattern.exec(name);
    if (!m || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
    const path = join(dir, name);
    const st = await lstat(path).catch(() => undefined);
    if (!st?.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
    await rm(path, { recursive: true, force: true }).catch(() => undefined);
    removed.push(path);
  }
  return removed;
}
