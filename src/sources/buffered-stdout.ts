/**
 * A larger output buffer for dump tools that write through C stdio.
 *
 * pg_dump and mariadb-dump/mysqldump write their output with fwrite(), and glibc buffers a socket
 * or a pipe by its st_blksize: 4 KiB. A 195 MiB pgbench dump was 49,804 writes, and the backup's
 * main thread woke for nearly each of them: ~25,000 reads of its socket, each an event-loop turn
 * and a JavaScript callback, while the server, pg_dump, zstd and this process competed for two
 * cores.
 *
 * coreutils' `stdbuf -o SIZE` sets the child's stdout buffer before its main() runs (it preloads
 * a library that calls setvbuf, then execs the tool: the same process, so signals and exit status
 * are the tool's). With 1 MiB, pg_dump made 195 writes. A CLI backup of that database then took
 * 1.69 instead of 2.19 CPU-s, pg_dump's included, and 2.21 instead of 2.40 s (medians of 10
 * alternating runs on a 2-core VM, bench/README.md). Nothing changes in what is written, only in
 * how it is cut up. Without stdbuf (not every image has coreutils), or when
 * the tool itself is not found (its spawn then fails with the usual "not installed" message), the
 * tool runs as it is.
 */
import type { ChildSpec } from './child.ts';
import { findExecutable } from './executable.ts';

const BUFFER = '1M';
let stdbuf: string | null | undefined;

/** coreutils' stdbuf on this process's PATH (looked up once), or undefined. */
function findStdbuf(): string | undefined {
  stdbuf ??= findExecutable('stdbuf', process.env.PATH ?? '') ?? null;
  return stdbuf ?? undefined;
}

/** `spec` run under `stdbuf -o 1M` when both stdbuf and the tool are there; `spec` otherwise (or with a null `wrapper`). */
export function withBufferedStdout(spec: ChildSpec, wrapper: string | null = findStdbuf() ?? null): ChildSpec {
  if (wrapper === null || findExecutable(spec.cmd, (spec.env ?? process.env).PATH ?? '') === undefined) return spec;
  return { ...spec, cmd: wrapper, args: [`--output=${BUFFER}`, '--', spec.cmd, ...spec.args] };
}
