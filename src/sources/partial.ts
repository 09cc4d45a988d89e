/**
 * Partial restores. A files or SQLite restore writes beside its target under a hidden name and
 * renames it into place only when complete, so the target is never half there. A restore that
 * was killed (SIGKILL, power loss) leaves that partial behind; the next restore of the same
 * target removes the ones this host left whose process is gone. The name carries the host and
 * the process id for that: `.NAME.lifeboat-partial-HOST-PID-RANDOM`. A live process's partial,
 * another host's (a shared filesystem) and one of an unknown format are never touched.
 */
import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { processAlive } from '../pid.ts';

const MARK = '.lifeboat-partial-';

function prefix(target: string, host = hostname()): string {
  return `.${basename(target)}${MARK}${host}-`;
}

/** A fresh partial path beside `target` (an absolute path). */
export function partialPath(target: string): string {
  return join(dirname(target), `${prefix(target)}${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Removes the partials of `target` that dead processes of this host left; returns their paths. */
export async function sweepPartials(target: string, host = hostname()): Promise<string[]> {
  const parent = dirname(target);
  const start = prefix(target, host);
  const names = await readdir(parent).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(start)) continue;
    const m = /^(\d+)-[0-9a-f]{8}$/.exec(name.slice(start.length));
    if (!m || processAlive(Number(m[1]))) continue;
    await rm(join(parent, name), { recursive: true, force: true });
    removed.push(join(parent, name));
  }
  return removed;
}
