/** `lifeboat backup <job>`: take one snapshot now and stream it to every site of the job. */
import type { Command } from 'commander';
import { Context } from '../../operations/context.ts';
import { backup } from '../../operations/backup.ts';
import { runLeasedByHand } from '../../operations/leased.ts';
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
          // Under the job's lease, as a daemon's backups: another backup of the job may be running.
          const r = await runLeasedByHand(ctx, jobName, signal, (leased) =>
            backup(ctx, jobName, {
              signal: leased,
              onProgress: (p) => out.progress(() => `backup ${jobName}: ${formatBytes(p.sourceBytes)} read, ${formatBytes(p.storedBytes)} stored, ${rate(p.sourceBytes, started)}`),
            }),
          );
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
