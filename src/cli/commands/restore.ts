/** `lifeboat restore <job> --to TARGET`: restore a snapshot (default: the latest) into a target. */
import type { Command } from 'commander';
import { Context } from '../../operations/context.ts';
import { LifeboatError } from '../../errors.ts';
import { preflight, restore, type RestoreRequest } from '../../operations/restore.ts';
import { redactTarget } from '../../sources/url-target.ts';
import { load } from '../config-path.ts';
import { formatBytes, type Out } from '../output.ts';

interface Opts {
  config?: string;
  snapshot: string;
  site?: string;
  to: string;
  force?: boolean;
  clean?: boolean;
  owner?: boolean;
  jobs?: string;
  intoSource?: boolean;
  globals?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

function request(o: Opts): Omit<RestoreRequest, 'signal'> {
  let jobs: number | undefined;
  if (o.jobs !== undefined) {
    jobs = Number(o.jobs);
    if (!Number.isInteger(jobs) || jobs < 1) throw new LifeboatError('USAGE', `--jobs must be a whole number of at least 1, not "${o.jobs}"`);
  }
  return {
    snapshot: o.snapshot,
    target: o.to,
    ...(o.site === undefined ? {} : { site: o.site }),
    ...(o.force ? { force: true } : {}),
    ...(o.clean ? { clean: true } : {}),
    ...(o.owner === false ? { noOwner: true } : {}),
    ...(jobs === undefined ? {} : { jobs }),
    ...(o.intoSource ? { intoSource: true } : {}),
    ...(o.globals ? { globals: true } : {}),
  };
}

export function register(program: Command, run: (fn: (out: Out, signal: AbortSignal) => Promise<number>) => Promise<void>): void {
  program
    .command('restore')
    .description('restore a snapshot into a target: a directory, a database URL or a file, as the job\'s source expects')
    .argument('<job>', 'job name from the config')
    .requiredOption('--to <target>', 'where to restore')
    .option('--snapshot <id>', 'snapshot id, or "latest"', 'latest')
    .option('--site <site>', 'restore from this site only (default: the job\'s sites in order, falling back on failure)')
    .option('--force', 'allow a non-empty target directory, or replace a target file')
    .option('--clean', 'databases: restore into a non-empty database, replacing the objects the snapshot holds')
    .option('--no-owner', 'PostgreSQL: do not restore object ownership and privileges')
    .option('--jobs <n>', 'PostgreSQL: parallel restore jobs (spools the dump to a temporary file)')
    .option('--globals', 'PostgreSQL: first restore the roles and tablespaces stored with the snapshot (source.globals)')
    .option('--into-source', "allow restoring into the job's own source (overwrites the live data)")
    .option('--dry-run', 'check everything a restore needs, write nothing')
    .option('-c, --config <file>', 'config file')
    .option('--json', 'machine-readable output')
    .action((jobName: string, o: Opts) =>
      run(async (out, signal) => {
        const ctx = new Context(await load(o.config));
        try {
          if (o.dryRun) {
            const p = await preflight(ctx, jobName, request(o));
            const lines = p.checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'}  ${c.check}: ${c.detail}`);
            lines.push(p.ok ? `restore of ${p.job} into ${redactTarget(o.to)} would go ahead (nothing was written)` : `restore of ${p.job} into ${redactTarget(o.to)} would fail`);
            out.result(lines.join('\n'), p);
            return p.ok ? 0 : 1;
          }
          const r = await restore(ctx, jobName, {
            ...request(o),
            signal,
            onProgress: (p) => out.progress(() => `restore ${jobName} from ${p.site}: ${formatBytes(p.bytes)} of ${formatBytes(p.total)}`),
            onFallback: (site, err, next) => out.info(`site ${site} failed (${err.message}); trying site ${next}`),
          });
          const fell = r.failedSites.length ? ` after ${r.failedSites.map((f) => f.site).join(', ')} failed` : '';
          out.result(`restored snapshot ${r.snapshotId} of ${r.job} from site ${r.site}${fell} into ${redactTarget(o.to)} in ${r.seconds.toFixed(1)} s`, {
            ok: true,
            job: r.job,
            snapshotId: r.snapshotId,
            site: r.site,
            target: redactTarget(o.to),
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
