import { readlinkSync } from 'node:fs';

/** Whether a process of this host runs under `pid` (EPERM: it does, under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let namespace: string | null | undefined;

/**
 * The inode of this process's Linux pid namespace, in which its pid and any pid it reads mean the
 * same process (containers on one host may share its name, never its pids); undefined where there
 * is none to read (not Linux, /proc not mounted).
 */
export function pidNamespace(): string | undefined {
  if (namespace === undefined) {
    try {
      namespace = /\d+/.exec(readlinkSync('/proc/self/ns/pid'))?.[0] ?? null;
    } catch {
      namespace = null;
    }
  }
  return namespace ?? undefined;
}
