/** `lifeboat prune <job>`: apply the retention policy on each site; --dry-run only shows it. */
import type { Command } from 'commander';
import { Context } from '../../operations/context.ts';
import { runLeasedByHand } from '../../operations/leased.ts';
import { prune } from '../../operations/prune.ts';
import { load } from '../config-path.ts';
import type { Out } from '../output.ts';

export function register(program: Command, run: (fn: (out: Out, signal: AbortSignal) => Promise<number>) => Promise<void>): void {
  program
    .command('prune')
    .description("remove the snapshots that the job's retention policy does not keep, on each site")
    .argument('<job>', 'job name from the config')
    .option('--dry-run', 'show what each rule keeps and what would be removed, remove nothing')
    .option('--site <site>', 'only this site')
    .option('-c, --config <file>', 'config file')
    .option('--json', 'machine-readable output')
    .action((jobName: string, o: { dryRun?: boolean; site?: string; config?: string; json?: boolean }) =>
      run(async (out, signal) => {
        const ctx = new Context(await load(o.config));
        try {
          const options = { ...(o.dryRun ? { dryRun: true } : {}), ...(o.site ? { site: o.site } : {}) };
          // Removing snapshots takes the backup lease, as a daemon's retention after its backup
          // does: a heal under way elsewhere would copy back what this removes. A dry run reads only.
          const r = o.dryRun ? await prune(ctx, jobName, options) : await runLeasedByHand(ctx, jobName, signal, () => prune(ctx, jobName, options));
          const lines: string[] = [];
          if (!r.policy) lines.push(`job ${r.job} has no retention policy: every snapshot is kept`);
          for (const s of r.sites) {
            lines.push(`site ${s.site}:`);
            for (const d of s.decisions) {
              const verdict = d.keptBy.length ? `keep (${d.keptBy.join(', ')})` : r.dryRun ? 'remove (dry run)' : s.removed.includes(d.id) ? 'removed' : 'remove failed';
              lines.push(`  ${d.id}  ${verdict}`);
            }
            for (const e of s.errors) lines.push(`  error: ${e}`);
          }
          out.result(lines.join('\n'), r);
          return r.sites.some((s) => s.errors.length > 0) ? 1 : 0;
        } finally {
          ctx.close();
        }
      }),
    );
}
