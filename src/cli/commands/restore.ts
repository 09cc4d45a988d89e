/** `lifeboat restore <job> --to TARGET`: restore a snapshot (default: the latest) into a target. */
import type { Command } from 'commander';
import { Context } from '../../operations/context.ts';
import { restore } from '../../operations/restore.ts';
import { load } from '../config-path.ts';
import { formatBytes, type Out } from '../output.ts';

interface Opts {
  config?: string;
  snapshot: string;
  site?: string;
  to: string;
  force?: boolean;
  json?: boolean;
}

export function register(program: Command, run: (fn: (out: Out, signal: AbortSignal) => Promise<number>) => Promise<void>): void {
  program
    .command('restore')
    .description('restore a snapshot into a target: a directory, a database URL or a file, as the job\'s source expects')
    .argument('<job>', 'job name from the config')
    .requiredOption('--to <target>', 'where to restore')
    .option('--snapshot <id>', 'snapshot id, or "latest"', 'latest')
    .option('--site <site>', 'restore from this site only (default: the job\'s sites in order, falling back on failure)')
    .option('--force', 'allow a non-empty target directory (replaces what the snapshot contains)')
    .option('-c, --config <file>', 'config file')
    .option('--json', 'machine-readable output')
    .action((jobName: string, o: Opts) =>
      run(async (out, signal) => {
        const ctx = new Context(await load(o.config));
        try {
          const r = await restore(ctx, jobName, {
            snapshot: o.snapshot,
            target: o.to,
            signal,
            ...(o.site === undefined ? {} : { site: o.site }),
            ...(o.force ? { force: true } : {}),
            onProgress: (p) => out.progress(`restore ${jobName} from ${p.site}: ${formatBytes(p.bytes)} of ${formatBytes(p.total)}`),
            onFallback: (site, err, next) => out.info(`site ${site} failed (${err.message}); trying site ${next}`),
          });
          const fell = r.failedSites.length ? ` after ${r.failedSites.map((f) => f.site).join(', ')} failed` : '';
          out.result(`restored snapshot ${r.snapshotId} of ${r.job} from site ${r.site}${fell} into ${o.to} in ${r.seconds.toFixed(1)} s`, {
            ok: true,
            job: r.job,
            snapshotId: r.snapshotId,
            site: r.site,
            target: o.to,
            failedSites: r.failedSites.map((f) => ({ site: f.site, error: f.error.message })),
            seconds: r.seconds,
          });
          return 0;
        } finally {
          ctx.close();
        }
      }),
    );
}
