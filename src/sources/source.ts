/**
 * A source knows one kind of dataset: how to dump it as one byte stream, and how to restore such a
 * stream into a target (a directory, a database, a file). Sources know nothing of encryption,
 * compression or sites; the pipeline wraps them.
 *
 * Contract:
 * - dump() returns at once with the stream and a `done` promise. `done` settles only when the dump
 *   is known to be complete — for a child process, after its exit status — and rejects with
 *   DUMP_FAILED (exit status, tail of stderr) otherwise, even if the stream ended cleanly.
 * - restore() consumes the input to its end; it commits the result (renames a directory into
 *   place, …) only if the input stream ended without error, because the pipeline verifies hashes
 *   and authentication as the last bytes pass and signals a mismatch as a stream error.
 */
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { PayloadExt } from '../catalog/layout.ts';

export type Fact = string | number | boolean | null | string[];
export type Facts = Record<string, Fact>;

export interface Dump {
  readonly stream: Readable;
  readonly done: Promise<Facts>;
  /**
   * Settles once the dump's producer runs (or will not): side work that competes with its start
   * (an inventory query, say) waits for it. Absent: the dump runs from the start.
   */
  readonly started?: Promise<void>;
}

export interface TargetOptions {
  /** Allow a non-empty target directory (files) or replacing a file (sqlite). */
  readonly force?: boolean;
  /** Databases: restore into a non-empty database, dropping the objects the snapshot holds. */
  readonly clean?: boolean;
  /** PostgreSQL: do not restore object ownership. */
  readonly noOwner?: boolean;
  /** PostgreSQL: parallel restore jobs (spools the dump to a temporary file). */
  readonly jobs?: number;
  /** Databases: the target server's password, from a config reference (drill targets). */
  readonly password?: string;
}

/**
 * A restore input that a consumer process can take as its stdin, so the bytes never pass through
 * this thread (the pipeline's worker writes them). The stream is whole only when `verdict`
 * resolves; when it rejects, the consumer must be stopped before `stop()` closes the socket.
 */
export interface SocketInput extends Readable {
  /** The socket for a child's stdin, once it is connected; destroy this copy once the child has it. */
  takeSocket(): Promise<Socket>;
  readonly verdict: Promise<void>;
  /** Closes the writer's end; resolves with its own error when it had failed. */
  stop(): Promise<Error | undefined>;
}

export function isSocketInput(input: Readable): input is SocketInput {
  return typeof (input as Partial<SocketInput>).takeSocket === 'function';
}

export interface RestoreOptions extends TargetOptions {
  readonly signal: AbortSignal;
  /** What prepareTarget() made ready: restore() then skips its own preparation. */
  readonly prepared?: PreparedTarget;
}

/** A restore target made ready before the download (a database created for it, say). */
export interface PreparedTarget {
  /** Whether preparing created the target (a failed restore removes it again). */
  readonly created: boolean;
  /** Removes what preparing created: for a restore that fails before its end. */
  undo(): Promise<void>;
  /**
   * For a target that existed: how it is the very dataset a snapshot was taken of (by the facts in
   * its manifest) where the target's address does not show it, as overlapsSource's phrase; undefined
   * when it is not, or cannot tell.
   */
  snapshotSource?(facts: Facts): string | undefined;
}

/** A second stream stored with the same snapshot (PostgreSQL's roles and tablespaces, say). */
export interface ExtraPart {
  /** Lowercase name, also the start of its object key. */
  readonly name: string;
  readonly ext: PayloadExt;
  dump(o: { signal: AbortSignal }): Dump;
}

/** A table and its row count (an estimate at dump time; exact after a drill's restore). */
export interface TableStat {
  readonly name: string;
  /** Unknown (null) when the server has no estimate yet (a table never analysed). */
  readonly rows: number | null;
}

export interface Source {
  readonly kind: string;
  readonly ext: PayloadExt;
  /** What a restore target is for this kind, for messages: "a directory", "a database URL", "a file". */
  readonly targetKind: string;
  /**
   * A format the restore pipeline vets the plaintext as, before restore() sees a byte of it:
   * `tar` refuses archives whose members would land outside the target (sources/files/vet.ts).
   */
  readonly restoreVetting?: 'tar';
  dump(o: { signal: AbortSignal }): Dump;
  /**
   * Databases: the tables and their estimated row counts at dump time, from the catalog (cheap:
   * no table is scanned). Recorded in the manifest so that a drill can spot schema drift.
   */
  inventory?(): Promise<TableStat[]>;
  /** Extra parts to store with each snapshot, dumped after the main one. */
  extraParts?(): ExtraPart[];
  /** Restores an extra part into the target, before the main restore (when asked for). */
  restorePart?(name: string, input: Readable, target: string, o: RestoreOptions): Promise<Facts>;
  /**
   * Checks a target before any download — its kind, that it is reachable and empty (or allowed not
   * to be), that the tools fit — and returns what was checked. Problems are USAGE errors.
   */
  checkTarget(target: string, o: TargetOptions): Promise<string[]>;
  /**
   * checkTarget for a restore that goes ahead, which also makes the target ready in the same
   * round trip (PostgreSQL: checks for and creates the database in one client run), run while the
   * catalog is read. Sources without it are checked, and prepare inside restore().
   */
  prepareTarget?(target: string, o: TargetOptions): Promise<PreparedTarget>;
  /** PreparedTarget.snapshotSource for a target that is only looked at (restore --dry-run). */
  targetSnapshotSource?(target: string, o: TargetOptions, facts: Facts): Promise<string | undefined>;
  /**
   * How a target overlaps the dataset this source dumps, as a phrase that "of job NAME" ends ("is
   * the source database", "is inside the source folder /srv/data"); undefined when it does not.
   * Restoring there needs --into-source.
   */
  overlapsSource(target: string): Promise<string | undefined>;
  restore(input: Readable, target: string, o: RestoreOptions): Promise<Facts>;
}
