/**
 * Partial restores. A files or SQLite restore writes beside its target under a hidden name and
 * renames it into place only when complete, so the target is never half there. A restore that
 * was killed (SIGKILL, power loss) leaves that partial behind; the next restore of the same
 * target removes the ones that processes of this host and pid namespace left and that are gone.
 * The name carries what that takes: `.NAME.lifeboat-partial-HOST-PIDNS-PID-RANDOM` (PIDNS: the
 * pid namespace in which PID means that process, src/pid.ts). A live process's partial, another
 * host's or another namespace's (a filesystem that containers or hosts share), and one of an unknown
 * format (the `HOST-PID-RANDOM` of earlier versions included) are never touched.
 */
import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { LifeboatError, describeError } from '../errors.ts';
import { pidNamespace, processAlive } from '../pid.ts';

const MARK = '.lifeboat-partial-';

/** What every partial of `target` that a process of this host and namespace writes starts with. */
function prefix(target: string, host = hostname()): string {
  return `.${basename(target)}${MARK}${host}-${pidNamespace() ?? '0'}-`;
}

/** A fresh partial path beside `target` (an absolute path). */
export function partialPath(target: string): string {
  return join(dirname(target), `${prefix(target)}${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Removes the partials of `target` that dead processes of this host and namespace left; returns their paths. */
export async function sweepPartials(target: string, host = hostname()): Promise<string[]> {
  const parent = dirname(target);
  const start = prefix(target, host);
  const names = await readdir(parent).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(start)) continue;
    const m = /^(\d+)-[0-9a-f]{8}$/.exec(name.slice(start.length));
    if (!m || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
    await rm(join(parent, name), { recursive: true, force: true });
    removed.push(join(parent, name));
  }
  return removed;
}

/**
 * Runs a step that writes at the restore target (its folder made, the partial created, written or
 * moved into place). Its failure is the target's, not the site's: another site's copy would fail
 * the same way, so it is reported as such instead of falling back to the next site.
 */
export async function atTarget<T>(target: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw writeFailure(`the restore target ${target}`, err);
  }
}

/** A restore's failure to write `what` on this host (atTarget), which no other site's copy would cure. */
export function writeFailure(what: string, err: unknown): LifeboatError {
  if (err instanceof LifeboatError) return err;
  return new LifeboatError('RESTORE_FAILED', `cannot write ${what}: ${describeError(err)}`);
}
