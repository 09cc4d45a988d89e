/** Whether a tool can be run, found the way exec finds it: a few stat calls, no process started. */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `cmd` as exec would find it on `path` (a command with a slash as it is), or undefined. */
export function findExecutable(cmd: string, path: string): string | undefined {
  if (cmd.includes('/')) return executable(cmd) ? cmd : undefined;
  return path
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, cmd))
    .find(executable);
}
