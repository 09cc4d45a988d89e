/** `lifeboat backup <job>`: take one snapshot now and stream it to every site of the job. */
import type { Command } from 'commander';
import { Context } from '../../operations/context.ts';
import type { BackupReport } from '../../operations/backup.ts';
import { startDump } from '../../pipeline/early-dump.ts';
import { createSource } from '../../sources/registry.ts';
import { load } from '../config-path.ts';
import { formatBytes, rate, type Out } from '../output.ts';

export function register(program: Command, run: (fn: (out: Out, signal: AbortSignal) => Promise<number>) => Promise<void>): void {
  program
    .command('backup')
    .description('take a snapshot of a job now, on all its sites')
    .argument('<job>', 'job name from the config')
    .option('-c, --config <file>', 'config file')
    .option('--json', 'machine-readable output')
    .action((jobName: string, o: { config?: string; json?: boolean }) =>
      run(async (out, signal) => {
        const ctx = new Context(await load(o.config));
        try {
          const started = Date.now();
          // The dump starts as soon as the job is known: before the lease is taken (synced writes
          // on the job's first site, or a request to it) and before the data path's modules load
          // (crypto, zstd, the fan-out), which then overlap pg_dump's connection and first
          // queries. A process started by hand pays its start-up before the dump; a daemon does
          // not. The dump waits on a full pipe until the backup reads it, and is stopped if the
          // lease is refused (bench/README.md, "A thirteenth machine").
          const source = createSource(ctx.job(jobName).source);
          const dump = startDump(source);
          let handedOver = false;
          let r: BackupReport;
          try {
            await dump.running;
            const [{ backup }, { runLeasedByHand }] = await Promise.all([import('../../operations/backup.ts'), import('../../operations/leased.ts')]);
            // Under the job's lease, as a daemon's backups: another backup of the job may be running.
            r = await runLeasedByHand(ctx, jobName, signal, (leased) => {
              handedOver = true;
              return backup(ctx, jobName, {
                signal: leased,
                early: { source, dump },
                onProgress: (p) => out.progress(() => `backup ${jobName}: ${formatBytes(p.sourceBytes)} read, ${formatBytes(p.storedBytes)} stored, ${rate(p.sourceBytes, started)}`),
              });
            });
          } finally {
            if (!handedOver) await dump.cancel();
          }
          const m = r.manifest;
          const lines = [
            `${r.ok ? 'snapshot' : 'FAILED: snapshot'} ${r.snapshotId} of ${r.job}: committed on ${r.committed.length} of ${r.committed.length + r.failed.length} site(s) (${r.committed.join(', ') || 'none'}; at least ${r.minSites} needed)`,
          ];
          if (m) lines.push(`  ${formatBytes(m.payload.plaintext.bytes)} read, ${formatBytes(m.payload.ciphertext.bytes)} stored, ${r.seconds.toFixed(1)} s`);
          for (const f of r.failed) lines.push(`  site ${f.site} failed: ${f.error}`);
          out.result(lines.join('\n'), r);
          return r.ok ? 0 : 1;
        } finally {
          ctx.close();
        }
      }),
    );
}
