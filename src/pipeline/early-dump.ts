/**
 * A dump started before the pipeline, so that its producer (pg_dump's connection, tar's first
 * reads) gets going while the sites are prepared, the job's lease is taken and the data path's
 * modules load; until the pipeline reads it, the producer waits on a full pipe. Whoever starts one
 * either hands it to the backup (which passes it to backupPipeline) or cancels it.
 *
 * A module of its own, with nothing but the source behind it: the CLI starts the dump before it
 * loads the data path (crypto, zstd, the fan-out), see cli/commands/backup.ts.
 */
import type { Dump, Source } from '../sources/source.ts';

export interface EarlyDump {
  /** When it started (Date.now()), for the manifest's dump time. */
  readonly startedAt: number;
  /** Settles once the producer runs, or will not (Dump.started). */
  readonly running: Promise<void>;
  /** The dump for the pipeline, which then stops it through `signal` (its own abort). */
  take(signal: AbortSignal): Dump;
  /** Stops the producer and waits until it has gone. */
  cancel(): Promise<void>;
}

export function startDump(source: Source): EarlyDump {
  const startedAt = Date.now();
  const ac = new AbortController();
  const dump = source.dump({ signal: ac.signal });
  dump.done.catch(() => {});
  return {
    startedAt,
    running: dump.started ?? Promise.resolve(),
    take(signal) {
      if (signal.aborted) ac.abort(signal.reason);
      else signal.addEventListener('abort', () => ac.abort(signal.reason), { once: true });
      return dump;
    },
    async cancel() {
      ac.abort();
      dump.stream.destroy();
      await dump.done.catch(() => {});
    },
  };
}
